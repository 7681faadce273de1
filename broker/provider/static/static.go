// Package static serves a configured API key from a file or an
// environment variable as a header. The key never expires. A value_file
// must pass filetrust.Secret; it is read when the provider is built (so a
// bad file refuses the config), again at every exchange (a forced refresh
// or an upstream 401 picks up a rotated key), and FileFingerprint lets a
// reload tell that the key changed.
package static

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/awf-broker/awf-broker/broker/filetrust"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// Config configures a static credential: its settings (shared with
// broker/config) and how to read the environment.
type Config struct {
	settings.Static
	// Lookup reads the environment (default os.LookupEnv).
	Lookup func(string) (string, bool)
}

// Provider is the static provider.
type Provider struct {
	cfg    Config
	header string
	remove []string
}

// New checks cfg, reads a value_file once to check it, and returns the
// provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Static.Check(); err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	if cfg.Lookup == nil {
		cfg.Lookup = os.LookupEnv
	}
	p := &Provider{cfg: cfg, header: strings.ToLower(cfg.Header)}
	if p.header != "authorization" {
		p.remove = []string{"authorization"}
	}
	if cfg.ValueFile != "" {
		if _, err := readFile(cfg.ValueFile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// readFile reads a value_file through the trust rule.
func readFile(path string) (string, error) {
	b, err := filetrust.Secret("value_file").Read(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("value_file %s is empty", path)
	}
	return v, nil
}

// FileFingerprint reads the value_file at path through the trust rule and
// returns its fingerprint: the hex SHA-256 of the value. It tells two
// values apart and reveals neither; it is compared, never logged.
func FileFingerprint(path string) (string, error) {
	v, err := readFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:]), nil
}

// Name returns "static".
func (p *Provider) Name() string { return "static" }

// NeedsBodySHA256 reports false.
func (p *Provider) NeedsBodySHA256() bool { return false }

// Exchange reads the value; it needs no subject.
func (p *Provider) Exchange(_ context.Context, _ provider.Subject) (provider.Token, error) {
	var v string
	if p.cfg.ValueFile != "" {
		var err error
		if v, err = readFile(p.cfg.ValueFile); err != nil {
			return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "read", Code: "value_file", Err: err}
		}
	} else {
		var ok bool
		v, ok = p.cfg.Lookup(p.cfg.ValueEnv)
		if !ok || v == "" {
			return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "read", Code: "value_env", Detail: "environment variable " + p.cfg.ValueEnv + " is unset or empty"}
		}
	}
	if p.cfg.Scheme != "" {
		v = p.cfg.Scheme + " " + settings.StripScheme(strings.TrimSpace(v))
	}
	return provider.Token{Value: secret.New(v)}, nil
}

// Headers sets the configured header to the value.
func (p *Provider) Headers(tok *provider.Token, _ *provider.Request) (provider.Grant, error) {
	return provider.Grant{Set: map[string]string{p.header: tok.Value.Reveal()}, Remove: p.remove}, nil
}
