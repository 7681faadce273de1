// Package anthropic exchanges identity JWTs for Anthropic workload-identity
// tokens (sk-ant-oat01-…) and turns them into API request headers.
//
// The exchange itself is the official SDK's config.ExchangeFederationAssertion,
// so the wire contract (fields, omitted empty workspace, the two betas,
// token_type and body checks, https-only) stays Anthropic's own. This
// package adds what a broker needs around it: our retrying HTTP client, the
// Request-Id and Retry-After of each answer, a lifetime measured from
// receipt, one re-mint when the JWT was expired or reused, and the
// transient/permanent classification with the body redacted.
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2/config"
	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// Header values of API calls (protocols.md §2).
const (
	OAuthBeta      = "oauth-2025-04-20"
	DefaultVersion = "2023-06-01"
	// maxAssertion is the SDK's and the endpoint's limit.
	maxAssertion = 16 << 10
	userAgent    = "awf-broker"
)

// Config configures the provider: its settings (fields, defaults and
// checks shared with broker/config) and what it runs with.
type Config struct {
	settings.Anthropic
	HTTP   *http.Client
	Logger hclog.Logger
}

// Provider is the anthropic provider.
type Provider struct {
	cfg  Config
	base string
	log  hclog.Logger
}

// New checks cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	cfg.Anthropic = cfg.Anthropic.WithDefaults()
	if err := cfg.Anthropic.Check(); err != nil {
		return nil, fmt.Errorf("anthropic: %w", err)
	}
	// Check made sure of the suffix; the SDK wants the base before it.
	base := strings.TrimSuffix(cfg.TokenURL, sdk.TokenEndpoint)
	if cfg.HTTP == nil {
		cfg.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Provider{cfg: cfg, base: base, log: cfg.Logger}, nil
}

// Name returns "anthropic".
func (p *Provider) Name() string { return "anthropic" }

// NeedsBodySHA256 reports false: bearer tokens sign nothing.
func (p *Provider) NeedsBodySHA256() bool { return false }

// Exchange mints a fresh JWT and exchanges it; an expired or reused JWT
// gets one more try with a new one.
func (p *Provider) Exchange(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	return provider.ExchangeWithRemint(ctx, subject, p.exchangeOnce, func() {
		p.log.Debug("assertion refused as expired or reused; minting a new one")
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
	if jwt.Len() > maxAssertion {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: fmt.Sprintf("identity token is larger than %d bytes", maxAssertion)}
	}
	capture := &captureTransport{next: p.cfg.HTTP.Transport}
	client := *p.cfg.HTTP
	client.Transport = capture
	creds, err := sdk.ExchangeFederationAssertion(ctx, sdk.FederationExchangeParams{
		Assertion:        jwt.Reveal(),
		FederationRuleID: p.cfg.FederationRuleID,
		OrganizationID:   p.cfg.OrganizationID,
		ServiceAccountID: p.cfg.ServiceAccountID,
		WorkspaceID:      p.cfg.WorkspaceID,
		BaseURL:          p.base,
		HTTPClient:       &client,
		UserAgent:        userAgent,
	})
	if err != nil {
		return provider.Token{}, p.classify(err, capture)
	}
	// The SDK's ExpiresAt is time.Now() + expires_in·1 s, which overflows
	// for expires_in above about 9.2e9; the lifetime comes from the
	// answer's own expires_in instead, converted without overflow (the
	// token cache clamps it and warns of an absurd one). An
	// answer without expires_in means provider.DefaultLifetime.
	if !capture.expiresIn.Set {
		p.log.Debug("answer has no expires_in; assuming the default", "default", provider.DefaultLifetime.String(), "request_id", capture.requestID)
	}
	lifetime, err := capture.expiresIn.Lifetime(provider.DefaultLifetime)
	if err != nil {
		return provider.Token{}, &provider.Error{Kind: provider.Transient, Op: "exchange", Status: capture.status, Code: "malformed_response", RequestID: capture.requestID, Detail: err.Error()}
	}
	return provider.Token{Value: secretOf(creds.AccessToken), Lifetime: lifetime, RequestID: capture.requestID}, nil
}

// classify turns an SDK error into a *provider.Error free of secrets.
func (p *Provider) classify(err error, c *captureTransport) error {
	var fe *sdk.FederationExchangeError
	if errors.As(err, &fe) {
		body := []byte(fe.Body)
		e := &provider.Error{
			Kind: provider.KindOfStatus(fe.StatusCode), Op: "exchange", Status: fe.StatusCode,
			Code: provider.ErrorCode(body), Detail: provider.Redact(body),
			RequestID: fe.RequestID, RetryAfter: c.retryAfter,
		}
		if e.Code == "" {
			e.Code = http.StatusText(fe.StatusCode)
		}
		lower := strings.ToLower(fe.Body)
		e.Remint = fe.StatusCode == http.StatusUnauthorized &&
			(strings.Contains(lower, "jti_reused") || strings.Contains(lower, "expired"))
		return e
	}
	for _, ce := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ce) {
			return &provider.Error{Kind: provider.Transient, Op: "exchange", Err: ce}
		}
	}
	msg := err.Error()
	if c.status != 0 {
		// A 2xx whose body the SDK could not use. The SDK's messages name
		// the JSON problem or the field, never the body.
		return &provider.Error{Kind: provider.Transient, Op: "exchange", Status: c.status, Code: "malformed_response",
			RequestID: c.requestID, Detail: strings.TrimPrefix(msg, "ExchangeFederationAssertion: ")}
	}
	return &provider.Error{Kind: provider.Transient, Op: "exchange", Detail: "token endpoint unreachable", Err: c.transportErr}
}

// captureTransport records the answer's Request-Id, Retry-After, status
// and, of a 2xx answer, expires_in.
type captureTransport struct {
	next         http.RoundTripper
	requestID    string
	retryAfter   time.Duration
	status       int
	expiresIn    provider.Seconds
	transportErr error
}

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := c.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		c.transportErr = errors.New(sanitizeTransportErr(err))
		return nil, err
	}
	c.status = resp.StatusCode
	c.requestID = resp.Header.Get("Request-Id")
	c.retryAfter = provider.RetryAfter(resp.Header)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Read the body (within the SDK's own 1 MiB cap) for expires_in
		// and hand the SDK the same bytes.
		body, err := provider.ReadBody(resp)
		if err != nil {
			c.transportErr = errors.New(sanitizeTransportErr(err))
			return nil, err
		}
		var answer struct {
			ExpiresIn provider.Seconds `json:"expires_in"`
		}
		if json.Unmarshal(body, &answer) == nil {
			c.expiresIn = answer.ExpiresIn
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// sanitizeTransportErr keeps the cause of a transport failure without the
// request URL.
func sanitizeTransportErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg[:i], "://") {
		return msg[i+2:]
	}
	return msg
}
