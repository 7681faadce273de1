// Package provider holds the types every credential exchange shares: the
// Token an exchange yields, the Subject that mints identity JWTs, the
// Exchanger and Headerer each provider implements, and the typed Error that
// says whether a failure is worth retrying. Provider packages
// (provider/anthropic, provider/static, …) import this one and never each other.
package provider

import (
	"context"
	"net/url"
	"time"

	"github.com/awf-broker/awf-broker/broker/secret"
)

// Token is what one exchange yields.
type Token struct {
	// Value is the bearer token or static key.
	Value secret.Value
	// AWS holds session credentials for the aws provider; nil otherwise.
	AWS *AWSCredentials
	// Lifetime is the token's lifetime as the upstream stated it
	// (expires_in), counted from the moment it was received. Zero means
	// the token does not expire (a static key).
	Lifetime time.Duration
	// RequestID is the upstream's request id, for the audit line. Not secret.
	RequestID string
}

// AWSCredentials are temporary AWS session credentials.
type AWSCredentials struct {
	AccessKeyID     string
	SecretAccessKey secret.Value
	SessionToken    secret.Value
}

// Subject mints subject tokens (identity JWTs) for an exchange. A fresh one
// is minted for every exchange and never kept.
type Subject interface {
	// Mint returns a new subject token for the audience.
	Mint(ctx context.Context, audience string) (secret.Value, error)
}

// Exchanger turns a subject token into an upstream credential.
type Exchanger interface {
	// Exchange mints a subject token from subject (nil for providers that
	// need none) and exchanges it. Failures are *Error values, or errors
	// that implement Permanent() bool.
	Exchange(ctx context.Context, subject Subject) (Token, error)
}

// Request describes the outgoing request a forwarder wants headers for.
type Request struct {
	Method string
	URL    *url.URL
	// Headers are the request's remaining headers, lower-case name →
	// value (several values comma-joined).
	Headers map[string]string
	// BodySHA256 is the hex SHA-256 of the body, for providers that sign it.
	BodySHA256 string
}

// Grant is the header change a forwarder applies to one request.
type Grant struct {
	// Set maps lower-case header names to the values to set.
	Set map[string]string
	// Remove lists lower-case header names to delete.
	Remove []string
}

// Headerer turns a token into the headers for one request. Provider
// knowledge (which header, which betas, how to sign) lives here.
type Headerer interface {
	Headers(tok *Token, req *Request) (Grant, error)
}

// Provider is what the broker needs of each provider.
type Provider interface {
	Exchanger
	Headerer
	// Name is the provider's name as in the config ("anthropic", "static", …).
	Name() string
	// NeedsBodySHA256 reports whether header requests must carry the body hash.
	NeedsBodySHA256() bool
}

// ExchangeWithRemint runs exchange and, when the upstream refused the
// subject token as expired or reused (an *Error with Remint set), runs it
// once more; each run mints its own subject token. retrying, when set, is
// called before the second run (a debug line).
func ExchangeWithRemint(ctx context.Context, subject Subject, exchange func(context.Context, Subject) (Token, error), retrying func()) (Token, error) {
	tok, err := exchange(ctx, subject)
	if pe, ok := AsError(err); ok && pe.Remint {
		if retrying != nil {
			retrying()
		}
		tok, err = exchange(ctx, subject)
	}
	return tok, err
}

// BearerGrant is the grant of the bearer-token providers: authorization
// set to the token, and the headers in remove (API-key headers that would
// compete with it) deleted.
func BearerGrant(tok *Token, remove []string) Grant {
	return Grant{Set: map[string]string{"authorization": "Bearer " + tok.Value.Reveal()}, Remove: remove}
}
