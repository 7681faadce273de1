package tokens

import (
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// State is a credential's state as operators see it.
type State string

// The states of DESIGN §5: pending → ready ⇄ refreshing → (degraded) →
// expired | failed.
const (
	// StatePending: no token yet (or the last one was purged).
	StatePending State = "pending"
	// StateReady: a valid token serves and no refresh is failing.
	StateReady State = "ready"
	// StateRefreshing: a valid token serves while an exchange is in flight.
	StateRefreshing State = "refreshing"
	// StateDegraded: refreshing fails, but the old token still serves.
	StateDegraded State = "degraded"
	// StateExpired: the token passed its cut-off and none replaced it.
	StateExpired State = "expired"
	// StateFailed: the upstream refused permanently and no token serves.
	StateFailed State = "failed"
)

// Entry is one token as received. It is immutable once published: callers
// share it and must not modify it.
type Entry struct {
	Token provider.Token
	// ReceivedAt is the local time the exchange returned.
	ReceivedAt time.Time
	// ExpiresAt is ReceivedAt + Token.Lifetime; ServeUntil is the cut-off
	// after which the token is never served. Both are zero for tokens that
	// never expire.
	ExpiresAt  time.Time
	ServeUntil time.Time
	// Generation is the identity registration the token was minted under.
	Generation uint64
}

// newEntry returns the entry of tok, received at received under generation gen.
func newEntry(tok provider.Token, received time.Time, gen uint64) *Entry {
	e := &Entry{Token: tok, ReceivedAt: received, Generation: gen}
	if tok.Lifetime > 0 {
		e.ExpiresAt = received.Add(tok.Lifetime)
		e.ServeUntil = received.Add(ServeUntil(tok.Lifetime))
	}
	return e
}

// ServableAt reports whether the token may be served at now.
func (e *Entry) ServableAt(now time.Time) bool {
	return e.ServeUntil.IsZero() || now.Before(e.ServeUntil)
}

// Status is a snapshot of a credential, free of secrets.
type Status struct {
	Name, Provider string
	State          State
	// ExpiresAt, NextRefreshAt and LastRefreshAt are zero when there is
	// none (a static token never expires; nothing is scheduled while an
	// exchange is in flight).
	ExpiresAt, NextRefreshAt, LastRefreshAt time.Time
	// LastError is the redacted error of the last exchange, if it failed;
	// LastErrorCode the upstream's code for it.
	LastError, LastErrorCode string
	// Refreshes counts successful exchanges, Failures failed ones.
	Refreshes, Failures uint64
	// Waiters is the number of callers waiting for a token now.
	Waiters int
}
