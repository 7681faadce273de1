package access

import (
	"fmt"
	"net/http"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Defaults of the limits block (DESIGN §5).
const (
	DefaultLeasesPerUID      = 256
	DefaultSubscribersPerUID = 16
	DefaultConnectionsPerUID = 1024
)

// Limits are the per-uid quotas. They apply to every uid, admins
// included, so that one uid can never starve another of the socket.
type Limits struct {
	// LeasesPerUID caps a uid's active leases.
	LeasesPerUID int
	// SubscribersPerUID caps a uid's open GET /v1/events streams.
	SubscribersPerUID int
	// ConnectionsPerUID caps a uid's open socket connections.
	ConnectionsPerUID int
}

func (l Limits) withDefaults() Limits {
	if l.LeasesPerUID <= 0 {
		l.LeasesPerUID = DefaultLeasesPerUID
	}
	if l.SubscribersPerUID <= 0 {
		l.SubscribersPerUID = DefaultSubscribersPerUID
	}
	if l.ConnectionsPerUID <= 0 {
		l.ConnectionsPerUID = DefaultConnectionsPerUID
	}
	return l
}

// MayAddLease answers a new lease for c, which already holds held active
// leases: 429 quota_exceeded past leases_per_uid.
func (p *Policy) MayAddLease(c peer.Cred, held int) error {
	return quota(c, held, p.limits.LeasesPerUID, "leases", "leases_per_uid")
}

// MayAddSubscriber answers a new GET /v1/events stream for c, which
// already has open ones.
func (p *Policy) MayAddSubscriber(c peer.Cred, open int) error {
	return quota(c, open, p.limits.SubscribersPerUID, "event subscriptions", "subscribers_per_uid")
}

// MayAddConnection answers a new socket connection of c, which already has
// open ones (this one not counted).
func (p *Policy) MayAddConnection(c peer.Cred, open int) error {
	return quota(c, open, p.limits.ConnectionsPerUID, "connections", "connections_per_uid")
}

func quota(c peer.Cred, inUse, limit int, what, attr string) error {
	if inUse >= limit {
		return &api.Problem{Status: http.StatusTooManyRequests, Code: api.CodeQuotaExceeded, RetryAfter: 1,
			Detail: fmt.Sprintf("uid %d already has %d %s (limits.%s = %d)", c.UID, inUse, what, attr, limit)}
	}
	return nil
}
