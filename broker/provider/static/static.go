// Package static serves a configured API key from a file or an
// environment variable as a header. The key never expires; the file is
// re-read at every exchange so a rotated key is picked up on refresh.
package static

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// Config configures a static credential: Header and exactly one of
// ValueFile and ValueEnv.
type Config struct {
	Header    string
	ValueFile string
	ValueEnv  string
	// Scheme, when set, prefixes the value ("Bearer" → "Bearer KEY"); a
	// scheme already pasted before the key is not doubled.
	Scheme string
	// Lookup reads the environment (default os.LookupEnv).
	Lookup func(string) (string, bool)
}

// Provider is the static provider.
type Provider struct {
	cfg    Config
	header string
	remove []string
}

// New checks cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Header == "" {
		return nil, errors.New("static: header is required")
	}
	if (cfg.ValueFile == "") == (cfg.ValueEnv == "") {
		return nil, errors.New("static: exactly one of value_file and value_env is required")
	}
	if cfg.Lookup == nil {
		cfg.Lookup = os.LookupEnv
	}
	p := &Provider{cfg: cfg, header: strings.ToLower(cfg.Header)}
	if p.header != "authorization" {
		p.remove = []string{"authorization"}
	}
	return p, nil
}

// Name returns "static".
func (p *Provider) Name() string { return "static" }

// NeedsBodySHA256 reports false.
func (p *Provider) NeedsBodySHA256() bool { return false }

// Exchange reads the value; it needs no subject.
func (p *Provider) Exchange(_ context.Context, _ provider.Subject) (provider.Token, error) {
	var v string
	if p.cfg.ValueFile != "" {
		b, err := os.ReadFile(p.cfg.ValueFile)
		if err != nil {
			return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "read", Code: "value_file", Err: fmt.Errorf("static value: %w", err)}
		}
		v = strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "read", Code: "value_file", Detail: "value_file " + p.cfg.ValueFile + " is empty"}
		}
	} else {
		var ok bool
		v, ok = p.cfg.Lookup(p.cfg.ValueEnv)
		if !ok || v == "" {
			return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "read", Code: "value_env", Detail: "environment variable " + p.cfg.ValueEnv + " is unset or empty"}
		}
	}
	if p.cfg.Scheme != "" {
		v = p.cfg.Scheme + " " + stripScheme(strings.TrimSpace(v))
	}
	return provider.Token{Value: secret.New(v)}, nil
}

// Headers sets the configured header to the value.
func (p *Provider) Headers(tok *provider.Token, _ *provider.Request) (provider.Grant, error) {
	return provider.Grant{Set: map[string]string{p.header: tok.Value.Reveal()}, Remove: p.remove}, nil
}

// stripScheme drops a "Bearer " or "token " before a key.
func stripScheme(v string) string {
	for _, p := range []string{"bearer ", "token "} {
		if len(v) >= len(p) && strings.EqualFold(v[:len(p)], p) {
			return strings.TrimSpace(v[len(p):])
		}
	}
	return v
}
