// Package lease keeps the leases: short-lived, scoped, revocable grants of
// a credential to one caller. Secrets are shown once and stored only as
// SHA-256; the lookup a header request makes takes no lock shared by all
// leases and allocates nothing.
package lease

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Holder says who holds a lease.
type Holder struct {
	peer.Cred
	Label, Container string
}

// Lease is one lease. Its identity and scope never change; its expiry,
// state and counter do, atomically.
type Lease struct {
	ID              string
	Credential      string
	Scope           api.Scope
	Holder          Holder
	Bind            string
	CreatedAt       time.Time
	TTL             time.Duration
	MaxTTL          time.Duration
	NeedsBodySHA256 bool

	hash      [sha256.Size]byte
	expiresAt atomic.Int64 // unix nanoseconds
	state     atomic.Int32
	endedAt   atomic.Int64 // when it was revoked or expired (unix nanoseconds)
	requests  atomic.Uint64
}

const (
	stateActive int32 = iota
	stateRevoked
	stateExpired
)

// ExpiresAt returns when the lease expires.
func (l *Lease) ExpiresAt() time.Time { return time.Unix(0, l.expiresAt.Load()).UTC() }

// State returns api.LeaseActive, LeaseRevoked or LeaseExpired.
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

// API returns the lease's wire form (no secret).
func (l *Lease) API() api.Lease {
	return api.Lease{
		ID: l.ID, Credential: l.Credential, Scope: l.Scope, Bind: l.Bind, State: l.State(),
		Holder:    api.Holder{UID: l.Holder.UID, GID: l.Holder.GID, PID: l.Holder.PID, Label: l.Holder.Label, Container: l.Holder.Container},
		CreatedAt: l.CreatedAt.UTC(), ExpiresAt: l.ExpiresAt(), Requests: l.requests.Load(), NeedsBodySHA256: l.NeedsBodySHA256,
	}
}

// usable refuses a revoked or expired lease.
func (l *Lease) usable(now time.Time) error {
	switch l.state.Load() {
	case stateRevoked:
		return errf(http.StatusGone, api.CodeLeaseRevoked, "lease %s was revoked", l.ID)
	case stateExpired:
		return errf(http.StatusGone, api.CodeLeaseExpired, "lease %s has expired", l.ID)
	}
	if now.UnixNano() >= l.expiresAt.Load() {
		return errf(http.StatusGone, api.CodeLeaseExpired, "lease %s has expired", l.ID)
	}
	return nil
}

// checkSecret compares the presented secret's hash in constant time.
func (l *Lease) checkSecret(presented string) bool {
	// Hash through a stack buffer: []byte(presented) would allocate.
	var buf [128]byte
	if len(presented) > len(buf) {
		return false
	}
	n := copy(buf[:], presented)
	sum := sha256.Sum256(buf[:n])
	return subtle.ConstantTimeCompare(sum[:], l.hash[:]) == 1
}

// HeldBy reports whether caller may act as the lease's holder.
func (l *Lease) HeldBy(caller peer.Cred) bool {
	if caller.UID != l.Holder.UID {
		return false
	}
	if l.Bind == api.BindProcess {
		return caller.PID == l.Holder.PID && caller.StartTime == l.Holder.StartTime
	}
	return true
}
