// Package openai exchanges identity JWTs for OpenAI access tokens through
// OpenAI's workload identity federation (protocols.md §6): a token
// exchange naming the workload identity provider and the service account
// it maps to.
package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// Wire constants of the exchange (protocols.md §6).
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	requestIDHeader    = "x-request-id"
)

// Config configures the provider: its settings (fields, defaults and
// checks shared with broker/config) and what it runs with.
type Config struct {
	settings.OpenAI
	HTTP   *http.Client
	Logger hclog.Logger
}

// Provider is the openai provider.
type Provider struct {
	cfg Config
}

// New checks cfg, applies its defaults and returns the provider.
func New(cfg Config) (*Provider, error) {
	cfg.OpenAI = cfg.OpenAI.WithDefaults()
	if err := cfg.OpenAI.Check(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Provider{cfg: cfg}, nil
}

// Name returns "openai".
func (p *Provider) Name() string { return "openai" }

// NeedsBodySHA256 reports false: bearer tokens sign nothing.
func (p *Provider) NeedsBodySHA256() bool { return false }

// Headers returns the bearer.
func (p *Provider) Headers(tok *provider.Token, _ *provider.Request) (provider.Grant, error) {
	return provider.BearerGrant(tok, nil), nil
}

// exchangeRequest is the exchange body, in protocols.md §6's field order.
type exchangeRequest struct {
	GrantType          string `json:"grant_type"`
	SubjectTokenType   string `json:"subject_token_type"`
	SubjectToken       string `json:"subject_token"`
	IdentityProviderID string `json:"identity_provider_id"`
	ServiceAccountID   string `json:"service_account_id"`
}

// Exchange mints a fresh JWT and exchanges it.
func (p *Provider) Exchange(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	if subject == nil {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: "no identity configured"}
	}
	jwt, err := subject.Mint(ctx, p.cfg.Audience)
	if err != nil {
		return provider.Token{}, fmt.Errorf("mint identity token: %w", err)
	}
	body, err := json.Marshal(exchangeRequest{
		GrantType: GrantTokenExchange, SubjectTokenType: TokenTypeJWT, SubjectToken: jwt.Reveal(),
		IdentityProviderID: p.cfg.IdentityProviderID, ServiceAccountID: p.cfg.ServiceAccountID,
	})
	if err != nil {
		return provider.Token{}, fmt.Errorf("encode exchange: %w", err)
	}
	a, err := provider.PostToken(ctx, p.cfg.HTTP, provider.TokenCall{Op: "exchange", URL: p.cfg.TokenURL,
		ContentType: "application/json", Body: body, RequestIDHeader: requestIDHeader})
	if err != nil {
		return provider.Token{}, err
	}
	if !a.OK() {
		return provider.Token{}, a.Failure(kindOf(a.Status))
	}
	return a.BearerToken(provider.DefaultLifetime)
}

// kindOf classifies a status as openai-go does: 408, 409, 429 and 5xx
// are worth retrying; 400, 401, 403 (invalid_grant,
// invalid_subject_token) and every other refusal are permanent.
func kindOf(status int) provider.Kind {
	if status == http.StatusConflict {
		return provider.Transient
	}
	return provider.KindOfStatus(status)
}
