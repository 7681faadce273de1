// Package azure exchanges identity JWTs for Microsoft Entra access tokens
// (protocols.md §5): a client_credentials grant with the JWT as the
// client assertion of an app registration's federated credential. Azure
// OpenAI accepts the token as a bearer in place of its api-key.
package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// Wire constants of the Entra exchange (protocols.md §5).
const (
	AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// requestIDHeader is Entra's request id (the body's trace_id).
	requestIDHeader = "x-ms-request-id"
)

// AADSTS codes with a meaning of their own (protocols.md §5).
const (
	codeAssertionTime = 700024 // assertion outside its valid time range: re-mint
)

// Config configures the provider: its settings (fields, per-cloud
// defaults and checks shared with broker/config) and what it runs with.
type Config struct {
	settings.Azure
	HTTP   *http.Client
	Logger hclog.Logger
}

// Provider is the azure provider.
type Provider struct {
	cfg Config
}

// New checks cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	cfg.Azure = cfg.Azure.WithDefaults()
	if err := cfg.Azure.Check(); err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Provider{cfg: cfg}, nil
}

// Name returns "azure".
func (p *Provider) Name() string { return "azure" }

// NeedsBodySHA256 reports false: bearer tokens sign nothing.
func (p *Provider) NeedsBodySHA256() bool { return false }

var removeAPIKey = []string{"api-key"}

// Headers returns the bearer, sent instead of Azure OpenAI's api-key.
func (p *Provider) Headers(tok *provider.Token, _ *provider.Request) (provider.Grant, error) {
	return provider.BearerGrant(tok, removeAPIKey), nil
}

// Exchange mints a fresh JWT and redeems it; an assertion Entra finds
// outside its valid time range gets one more try with a new one.
func (p *Provider) Exchange(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	return provider.ExchangeWithRemint(ctx, subject, p.exchangeOnce, func() {
		p.cfg.Logger.Debug("assertion refused as outside its valid time range; minting a new one")
	})
}

func (p *Provider) exchangeOnce(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	if subject == nil {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: "no identity configured"}
	}
	jwt, err := subject.Mint(ctx, p.cfg.Audience)
	if err != nil {
		return provider.Token{}, fmt.Errorf("mint identity token: %w", err)
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {p.cfg.ClientID},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {jwt.Reveal()},
		"scope":                 {p.cfg.Scope},
	}
	a, err := provider.PostToken(ctx, p.cfg.HTTP, provider.TokenCall{Op: "exchange", URL: p.cfg.TokenURL,
		ContentType: "application/x-www-form-urlencoded", Body: []byte(form.Encode()), RequestIDHeader: requestIDHeader})
	if err != nil {
		return provider.Token{}, err
	}
	if !a.OK() {
		return provider.Token{}, classify(a)
	}
	return a.BearerToken(0)
}

// entraError is the part of Entra's error body classification needs.
type entraError struct {
	Error      string `json:"error"`
	ErrorCodes []int  `json:"error_codes"`
	TraceID    string `json:"trace_id"`
}

// classify maps a refusal per protocols.md §5: AADSTS700024 (assertion
// outside its time range) is worth one re-mint and otherwise transient;
// temporarily_unavailable, 429 and 5xx are transient; invalid_client,
// AADSTS70021/700213 (no matching federated credential), 700016 (app not
// in tenant), 90002 (no such tenant), invalid_scope and every other
// refusal are permanent.
func classify(a *provider.TokenAnswer) error {
	var ee entraError
	_ = json.Unmarshal(a.Body, &ee)
	if a.RequestID == "" {
		a.RequestID = ee.TraceID
	}
	e := a.Failure(provider.KindOfStatus(a.Status))
	switch {
	case slices.Contains(ee.ErrorCodes, codeAssertionTime):
		e.Kind, e.Remint = provider.Transient, true
	case ee.Error == "temporarily_unavailable":
		e.Kind = provider.Transient
	case e.Kind == provider.Transient:
	default:
		e.Kind = provider.Permanent
	}
	return e
}
