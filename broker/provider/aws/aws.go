// Package aws exchanges identity JWTs for temporary AWS credentials with
// STS AssumeRoleWithWebIdentity, and signs each Bedrock Runtime request
// with SigV4 (protocols.md §3).
//
// The exchange is an unsigned form POST, so the JWT stays out of URLs and
// logs; it asks for JSON but reads JSON and XML answers alike, with the
// Expiration as an ISO-8601 string or epoch seconds. Signing is the AWS
// SDK's own v4 signer, never hand-written: signing name "bedrock", path
// segments escaped twice as for every non-S3 service, and the forwarder's
// body hash as the payload hash. The secret key never leaves the broker:
// a forwarder gets one request's signature.
package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// Wire constants and limits (protocols.md §3).
const (
	// SigningName is Bedrock Runtime's SigV4 service name: "bedrock", not
	// "bedrock-runtime" (aws-sdk-go-v2 service/bedrockruntime/auth.go).
	SigningName = "bedrock"
	stsVersion  = "2011-06-15"
	// maxToken is STS's WebIdentityToken limit.
	maxToken = 20000
	// invalidTokenTries is how many consecutive InvalidIdentityToken answers
	// count as transient (the IdP's keys may still be propagating, as the
	// SDK's stscreds assumes) before the refusal is taken as permanent.
	invalidTokenTries = 3
	userAgent         = "awf-broker"
)

// Config configures the provider: its settings (fields, defaults and
// checks shared with broker/config) and what it runs with.
type Config struct {
	settings.AWS
	HTTP   *http.Client
	Logger hclog.Logger
	// Now is the signing clock (default time.Now).
	Now func() time.Time
}

// Provider is the aws provider.
type Provider struct {
	cfg    Config
	log    hclog.Logger
	signer *v4.Signer

	mu sync.Mutex
	// invalidStreak counts consecutive InvalidIdentityToken answers.
	invalidStreak int
}

// New checks cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	cfg.AWS = cfg.AWS.WithDefaults()
	if err := cfg.AWS.Check(); err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{cfg: cfg, log: cfg.Logger, signer: v4.NewSigner()}, nil
}

// Name returns "aws".
func (p *Provider) Name() string { return "aws" }

// NeedsBodySHA256 reports true: SigV4 signs the body's hash.
func (p *Provider) NeedsBodySHA256() bool { return true }

// Region is the region the provider signs for.
func (p *Provider) Region() string { return p.cfg.Region }

// Exchange mints a fresh JWT and assumes the role with it; a JWT STS
// found expired gets one more try with a new one.
func (p *Provider) Exchange(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	tok, err := provider.ExchangeWithRemint(ctx, subject, p.exchangeOnce, func() {
		p.log.Debug("web identity token refused as expired; minting a new one")
	})
	p.countInvalid(err)
	return tok, err
}

// countInvalid keeps the InvalidIdentityToken streak and turns the answer
// permanent once the streak passes invalidTokenTries.
func (p *Provider) countInvalid(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pe, ok := provider.AsError(err)
	if !ok || pe.Code != "InvalidIdentityToken" {
		p.invalidStreak = 0
		return
	}
	p.invalidStreak++
	if p.invalidStreak > invalidTokenTries {
		pe.Kind = provider.Permanent
		return
	}
	pe.Kind = provider.Transient
}

func (p *Provider) exchangeOnce(ctx context.Context, subject provider.Subject) (provider.Token, error) {
	if subject == nil {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: "no identity configured"}
	}
	jwt, err := subject.Mint(ctx, p.cfg.Audience)
	if err != nil {
		return provider.Token{}, fmt.Errorf("mint identity token: %w", err)
	}
	if n := jwt.Len(); n < 4 || n > maxToken {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: fmt.Sprintf("identity token is %d bytes; STS takes 4 to %d", n, maxToken)}
	}
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {stsVersion},
		"RoleArn":          {p.cfg.RoleARN},
		"RoleSessionName":  {p.cfg.SessionName},
		"WebIdentityToken": {jwt.Reveal()},
		"DurationSeconds":  {strconv.Itoa(int(p.cfg.Duration / time.Second))},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Token{}, &provider.Error{Kind: provider.Permanent, Op: "exchange", Detail: "cannot build the STS request"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.cfg.HTTP.Do(req)
	if err != nil {
		return provider.Token{}, transportError(ctx, err)
	}
	body, err := provider.ReadBody(resp)
	received := time.Now()
	reqID := resp.Header.Get("X-Amzn-Requestid")
	if err != nil {
		return provider.Token{}, &provider.Error{Kind: provider.Transient, Op: "exchange", Status: resp.StatusCode, RequestID: reqID, Detail: "reading the STS answer failed"}
	}
	if resp.StatusCode != http.StatusOK {
		return provider.Token{}, stsError(resp, body, reqID, jwt.Reveal())
	}
	creds, err := parseCredentials(resp.Header.Get("Content-Type"), body)
	if creds.requestID != "" && reqID == "" {
		reqID = creds.requestID
	}
	if err != nil {
		return provider.Token{}, &provider.Error{Kind: provider.Transient, Op: "exchange", Status: resp.StatusCode, Code: "malformed_response", RequestID: reqID, Detail: err.Error()}
	}
	lifetime := creds.expiration.Sub(received).Round(time.Second)
	if lifetime <= 0 {
		return provider.Token{}, &provider.Error{Kind: provider.Transient, Op: "exchange", Status: resp.StatusCode, Code: "malformed_response", RequestID: reqID,
			Detail: fmt.Sprintf("Expiration %s is not in the future", creds.expiration.UTC().Format(time.RFC3339))}
	}
	// Never trust a clock-skewed Expiration for longer than was asked for.
	if lifetime > p.cfg.Duration {
		lifetime = p.cfg.Duration
	}
	return provider.Token{AWS: &creds.AWSCredentials, Lifetime: lifetime, RequestID: reqID}, nil
}

// transportError is a failed round trip, without the request URL.
func transportError(ctx context.Context, err error) error {
	for _, ce := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ce) || errors.Is(ctx.Err(), ce) {
			return &provider.Error{Kind: provider.Transient, Op: "exchange", Err: ce}
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &provider.Error{Kind: provider.Transient, Op: "exchange", Detail: "STS unreachable", Err: errors.New(err.Error())}
}
