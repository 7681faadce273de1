// Package lease keeps the leases: short-lived, scoped, revocable grants of
// a credential to one caller. Secrets are shown once and stored only as
// SHA-256; the lookup a header request makes takes no lock shared by all
// leases and allocates nothing. Scope policy (URL normalisation, host
// matching, subset and request checks) is pure functions in scope.go,
// hosts.go and url.go.
package lease

import (
	"crypto/sha256"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Holder says who holds a lease.
type Holder struct {
	peer.Cred
	Label, Container string
}

// Lease is one lease. Its exported fields are set at creation and never
// change; its expiry, state and request counter change atomically.
type Lease struct {
	ID         string
	Credential string
	Scope      api.Scope
	Holder     Holder
	// Bind is api.BindUID or api.BindProcess.
	Bind string
	// CreatedAt is when it was made, with the clock's monotonic reading:
	// every lease time is a duration from it on the monotonic clock, so a
	// wall-clock step neither ends a lease early nor stretches it.
	CreatedAt time.Time
	// TTL is the lease's own TTL, the default for a renewal.
	TTL time.Duration
	// MaxTTL is the credential's lease_ttl when the lease was made.
	MaxTTL          time.Duration
	NeedsBodySHA256 bool

	hash [sha256.Size]byte
	// expiresAfter is when it expires, in nanoseconds after CreatedAt.
	expiresAfter atomic.Int64
	state        atomic.Int32
	endedAt      atomic.Int64 // when it was revoked or expired, unix nanoseconds
	requests     atomic.Uint64
}

const (
	stateActive int32 = iota
	stateRevoked
	stateExpired
)

// ExpiresAt returns when the lease expires (or expired), in UTC.
func (l *Lease) ExpiresAt() time.Time {
	return l.CreatedAt.Add(time.Duration(l.expiresAfter.Load())).UTC()
}

// expired reports whether the lease is past its expiry at now.
func (l *Lease) expired(now time.Time) bool {
	return now.Sub(l.CreatedAt) >= time.Duration(l.expiresAfter.Load())
}

// setExpiry makes the lease expire at t (a time of the store's clock).
func (l *Lease) setExpiry(t time.Time) { l.expiresAfter.Store(int64(t.Sub(l.CreatedAt))) }

// Facts returns what the access policy needs of the lease.
func (l *Lease) Facts() access.Lease {
	return access.Lease{ID: l.ID, Holder: l.Holder.Cred, Bind: l.Bind}
}

// SecretMatches reports whether presented is the lease's secret (constant
// time), so that a holder may manage a process-bound lease from another
// process by presenting it.
func (l *Lease) SecretMatches(presented string) bool { return l.checkSecret(presented) }

// Requests returns how many header requests the lease has authorized.
func (l *Lease) Requests() uint64 { return l.requests.Load() }

// State returns api.LeaseActive, api.LeaseRevoked or api.LeaseExpired, as
// last recorded; a lease past its expiry reads active until the sweep (or
// a use) notices.
func (l *Lease) State() string {
	switch l.state.Load() {
	case stateRevoked:
		return api.LeaseRevoked
	case stateExpired:
		return api.LeaseExpired
	default:
		return api.LeaseActive
	}
}

// API returns the lease's wire form; it never carries the secret.
func (l *Lease) API() api.Lease {
	return api.Lease{
		ID: l.ID, Credential: l.Credential, Scope: l.Scope, Bind: l.Bind, State: l.State(),
		Holder: api.Holder{UID: l.Holder.UID, GID: l.Holder.GID, PID: l.Holder.PID,
			Label: l.Holder.Label, Container: l.Holder.Container},
		CreatedAt: l.CreatedAt.UTC(), ExpiresAt: l.ExpiresAt(),
		Requests: l.requests.Load(), NeedsBodySHA256: l.NeedsBodySHA256,
	}
}

// usable refuses a revoked or expired lease with 410.
func (l *Lease) usable(now time.Time) error {
	switch l.state.Load() {
	case stateRevoked:
		return errf(410, api.CodeLeaseRevoked, "lease %s was revoked", l.ID)
	case stateExpired:
		return errf(410, api.CodeLeaseExpired, "lease %s has expired", l.ID)
	}
	if l.expired(now) {
		return errf(410, api.CodeLeaseExpired, "lease %s has expired", l.ID)
	}
	return nil
}
