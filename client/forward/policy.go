package forward

import (
	"errors"
	"net/http"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// Pinned limits of the forwarder (DESIGN §6).
const (
	// MaxHashedBody is the largest body buffered to hash for credentials
	// with needs_body_sha256; larger bodies are refused with 413.
	MaxHashedBody = 32 << 20
	// MaxReplayBody is the largest body kept in memory so that a request
	// the upstream answered 401 can be replayed once with fresh headers.
	MaxReplayBody = 1 << 20
	// DefaultMaxWait bounds how long a request waits for the broker.
	DefaultMaxWait = 10 * time.Second
)

// renewDelay is when to renew a lease of the given TTL: at two thirds of
// it, and never in a tight loop.
func renewDelay(ttl time.Duration) time.Duration {
	d := ttl * 2 / 3
	if d < 50*time.Millisecond {
		d = 50 * time.Millisecond
	}
	return d
}

// leaseTTL is the lifetime the broker granted, measured on the broker's own
// clock (expires_at − created_at) so that clock skew does not matter; it
// falls back to the local clock when created_at is missing.
func leaseTTL(l *api.Lease, now time.Time) time.Duration {
	if !l.CreatedAt.IsZero() {
		if d := l.ExpiresAt.Sub(l.CreatedAt); d > 0 {
			return d
		}
	}
	if d := l.ExpiresAt.Sub(now); d > 0 {
		return d
	}
	return time.Second
}

// backoff is the delay before retry number attempt (0-based): base doubled
// each time up to limit, with "equal jitter" — half fixed, half scaled by
// jitter in [0, 1) — so that many forwarders do not retry in step. Callers
// pass a fresh random jitter for every retry (rand.Float64); the function
// stays pure so that the schedule is table-tested.
func backoff(attempt int, base, limit time.Duration, jitter float64) time.Duration {
	d := base
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	if d > limit {
		d = limit
	}
	return d/2 + time.Duration(jitter*float64(d/2))
}

// codeUnexpectedResponse is the code the client gives an answer that is
// not problem+json: not the broker speaking.
const codeUnexpectedResponse = "unexpected_response"

// action is what to do about a failed broker call.
type action int

const (
	// actRetry: transient (broker unreachable, 5xx); back off and retry.
	actRetry action = iota
	// actWait: credential_unavailable; wait for Retry-After and retry.
	actWait
	// actReacquire: the lease is gone (broker restarted, expired, secret
	// refused); acquire a new one and retry.
	actReacquire
	// actRevoked: lease_revoked; stop serving until restarted.
	actRevoked
	// actRefuse: a permanent answer for this request.
	actRefuse
	// actGarbage: the broker's answer made no sense.
	actGarbage
)

// classify decides what a broker error means for the forwarder.
func classify(err error) (action, *client.Error) {
	var ue *client.UnreachableError
	if errors.As(err, &ue) {
		return actRetry, nil
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		return actGarbage, nil
	}
	switch ce.Code {
	case api.CodeCredentialUnavailable:
		return actWait, ce
	case api.CodeUnknownLease, api.CodeLeaseExpired, api.CodeUnauthenticated:
		return actReacquire, ce
	case api.CodeLeaseRevoked:
		return actRevoked, ce
	case api.CodeCredentialFailed, api.CodeScopeViolation, api.CodeForbidden:
		return actRefuse, ce
	}
	switch {
	case ce.Code == "" || ce.Code == codeUnexpectedResponse:
		return actGarbage, ce
	case ce.Status >= 500, ce.Status == http.StatusTooManyRequests, ce.Status == http.StatusRequestTimeout:
		return actRetry, ce
	}
	return actRefuse, ce
}

// permanent reports whether a failure to create a lease will not go away by
// retrying (unknown credential, caller not allowed, bad request).
func permanent(err error) bool {
	act, ce := classify(err)
	return act == actRefuse || (act == actGarbage && ce != nil && ce.Status >= 400 && ce.Status < 500)
}
