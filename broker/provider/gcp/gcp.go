// Package gcp exchanges identity JWTs for Google Cloud access tokens
// (protocols.md §4): a token exchange at Google's STS yields a federated
// token, optionally traded at IAM Credentials for a service account's
// token (impersonation), which Vertex AI accepts as a bearer.
package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// Wire constants of the STS exchange (protocols.md §4).
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
)

// Config configures the provider: its settings (fields, defaults and
// checks shared with broker/config) and what it runs with.
type Config struct {
	settings.GCP
	HTTP   *http.Client
	Logger hclog.Logger
}

// Provider is the gcp provider.
type Provider struct {
	cfg         Config
	stsAudience string
	genURL      string
	scopes      []string
}

// New checks cfg, applies its defaults and returns the provider.
func New(cfg Config) (*Provider, error) {
	cfg.GCP = cfg.GCP.WithDefaults()
	if err := cfg.GCP.Check(); err != nil {
		return nil, fmt.Errorf("gcp: %w", err)
	}
	p := &Provider{stsAudience: settings.GCPSTSAudience(cfg.WorkloadIdentityProvider), scopes: strings.Fields(cfg.Scope)}
	if cfg.ServiceAccount != "" {
		p.genURL = strings.TrimSuffix(cfg.ImpersonationURL, "/") + "/v1/projects/-/serviceAccounts/" + url.PathEscape(cfg.ServiceAccount) + ":generateAccessToken"
	}
	if cfg.HTTP == nil {
		cfg.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	p.cfg = cfg
	return p, nil
}

// Name returns "gcp".
func (p *Provider) Name() string { return "gcp" }

// NeedsBodySHA256 reports false: bearer tokens sign nothing.
func (p *Provider) NeedsBodySHA256() bool { return false }

var removeAPIKey = []string{"x-goog-api-key"}

// Headers returns the bearer; an API key would compete with it.
func (p *Provider) Headers(tok *provider.Token, _ *provider.Request) (provider.Grant, error) {
	return provider.BearerGrant(tok, removeAPIKey), nil
}

// Exchange mints a fresh JWT, exchanges it at STS and, with a service
// account, trades the federated token for the account's. An expired JWT
// gets one more try with a new one.
func (p *Provider) Exchange(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	fed, err := provider.ExchangeWithRemint(ctx, subject, p.federate, func() {
		p.cfg.Logger.Debug("subject token refused as expired; minting a new one")
	})
	if err != nil || p.genURL == "" {
		return fed, err
	}
	return p.impersonate(ctx, fed.Value)
}

// stsRequest is the exchange body, in protocols.md §4's field order.
type stsRequest struct {
	GrantType          string `json:"grant_type"`
	Audience           string `json:"audience"`
	Scope              string `json:"scope"`
	RequestedTokenType string `json:"requested_token_type"`
	SubjectTokenType   string `json:"subject_token_type"`
	SubjectToken       string `json:"subject_token"`
}

func (p *Provider) federate(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	if subject == nil {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: "no identity configured"}
	}
	jwt, err := subject.Mint(ctx, p.cfg.Audience)
	if err != nil {
		return provider.Token{}, fmt.Errorf("mint identity token: %w", err)
	}
	body, err := json.Marshal(stsRequest{
		GrantType: GrantTokenExchange, Audience: p.stsAudience, Scope: strings.Join(p.scopes, " "),
		RequestedTokenType: TokenTypeAccess, SubjectTokenType: TokenTypeJWT, SubjectToken: jwt.Reveal(),
	})
	if err != nil {
		return provider.Token{}, fmt.Errorf("encode exchange: %w", err)
	}
	a, err := provider.PostToken(ctx, p.cfg.HTTP, provider.TokenCall{Op: "exchange", URL: p.cfg.TokenURL, ContentType: "application/json", Body: body})
	if err != nil {
		return provider.Token{}, err
	}
	if !a.OK() {
		return provider.Token{}, classify(a)
	}
	return a.BearerToken(0)
}

type generateRequest struct {
	Scope     []string `json:"scope"`
	Lifetime  string   `json:"lifetime"`
	Delegates []string `json:"delegates"`
}

type generateAnswer struct {
	AccessToken string `json:"accessToken"`
	ExpireTime  string `json:"expireTime"`
}

func (p *Provider) impersonate(ctx context.Context, federated secret.Value) (provider.Token, error) {
	body, err := json.Marshal(generateRequest{Scope: p.scopes, Lifetime: fmt.Sprintf("%ds", int64(p.cfg.Lifetime/time.Second)), Delegates: []string{}})
	if err != nil {
		return provider.Token{}, fmt.Errorf("encode impersonation: %w", err)
	}
	a, err := provider.PostToken(ctx, p.cfg.HTTP, provider.TokenCall{Op: "impersonate", URL: p.genURL, ContentType: "application/json", Body: body, Bearer: federated})
	if err != nil {
		return provider.Token{}, err
	}
	if !a.OK() {
		return provider.Token{}, classify(a)
	}
	var g generateAnswer
	if err := json.Unmarshal(a.Body, &g); err != nil {
		return provider.Token{}, a.Malformed("parse response: not the expected JSON")
	}
	if g.AccessToken == "" {
		return provider.Token{}, a.Malformed("answer has no accessToken")
	}
	if g.ExpireTime == "" {
		return provider.Token{}, a.Malformed("answer has no expireTime")
	}
	exp, err := time.Parse(time.RFC3339Nano, g.ExpireTime)
	if err != nil {
		return provider.Token{}, a.Malformed("expireTime is not RFC 3339")
	}
	lifetime, err := lifetimeOf(exp, a, p.cfg.Lifetime)
	if err != nil {
		return provider.Token{}, err
	}
	return provider.Token{Value: secret.New(g.AccessToken), Lifetime: lifetime, RequestID: a.RequestID}, nil
}

// lifetimeOf turns an absolute expireTime into a lifetime from receipt.
// It is counted from the answer's Date (the upstream's own clock, so a
// skewed local clock does not shorten or stretch it), else from the local
// receipt time, truncated to the second, and never above what was asked.
func lifetimeOf(exp time.Time, a *provider.TokenAnswer, asked time.Duration) (time.Duration, error) {
	base := a.Received
	if d, err := http.ParseTime(a.Header.Get("Date")); err == nil {
		base = d
	}
	lifetime := exp.Sub(base).Truncate(time.Second)
	if lifetime <= 0 {
		return 0, a.Malformed("expireTime is not in the future")
	}
	return min(lifetime, asked), nil
}

// classify maps a refusal per protocols.md §4: STS answers in the OAuth
// shape {"error":"invalid_grant"}, IAM Credentials in Google's
// {"error":{"status":"PERMISSION_DENIED"}}. 429, 5xx and UNAVAILABLE are
// transient; every other refusal (invalid_grant, unauthorized_client,
// invalid_target, invalid_request, PERMISSION_DENIED, INVALID_ARGUMENT)
// is permanent. An expired subject token may succeed once re-minted.
func classify(a *provider.TokenAnswer) error {
	e := a.Failure(provider.KindOfStatus(a.Status))
	switch e.Code {
	case "UNAVAILABLE", "RESOURCE_EXHAUSTED", "INTERNAL", "DEADLINE_EXCEEDED", "temporarily_unavailable":
		e.Kind = provider.Transient
	case "invalid_grant":
		d := strings.ToLower(e.Detail)
		e.Remint = strings.Contains(d, "expired") || strings.Contains(d, "stale")
	}
	return e
}
