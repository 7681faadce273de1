// Package api holds the wire types of the broker's socket API (v1): request
// and response bodies, the problem+json error body, its stable codes, and
// events. It is the Go face of openapi.yaml, imported by both broker/server
// and client/, and imports only the standard library.
package api

import "time"

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/awf-broker/broker.sock"

// SocketEnv names the environment variable clients read the socket path from.
const SocketEnv = "AWF_BROKER_SOCKET"

// Health is the body of GET /v1/health.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Ready is the body of GET /v1/ready: 200 when every credential is ready,
// else 503 listing those that are not.
type Ready struct {
	Ready    bool            `json:"ready"`
	NotReady []NotReadyEntry `json:"not_ready"`
}

// NotReadyEntry names a credential that is not ready and why.
type NotReadyEntry struct {
	Credential string `json:"credential"`
	State      string `json:"state"`
	LastError  string `json:"last_error,omitempty"`
}

// Credential states.
const (
	StatePending    = "pending"
	StateReady      = "ready"
	StateRefreshing = "refreshing"
	StateDegraded   = "degraded"
	StateExpired    = "expired"
	StateFailed     = "failed"
)

// CodeNotRegistered is the last_error_code of a credential whose run-time
// github-actions identity has no job registered: the credential waits for
// a job, it is not broken.
const CodeNotRegistered = "not_registered"

// Serving reports whether a credential in state can serve a token: it is
// ready, or refreshing or degraded with its token still valid.
func Serving(state string) bool {
	switch state {
	case StateReady, StateRefreshing, StateDegraded:
		return true
	}
	return false
}

// CredentialStatus describes one credential; it never carries a token value.
type CredentialStatus struct {
	Name          string     `json:"name"`
	Provider      string     `json:"provider"`
	State         string     `json:"state"`
	ExpiresAt     *time.Time `json:"expires_at"`
	NextRefreshAt *time.Time `json:"next_refresh_at"`
	LastRefreshAt *time.Time `json:"last_refresh_at"`
	LastError     string     `json:"last_error,omitempty"`
	LastErrorCode string     `json:"last_error_code,omitempty"`
	Refreshes     uint64     `json:"refreshes"`
	Failures      uint64     `json:"failures"`
	Hosts         []string   `json:"hosts"`
	// Target is the base URL forwarders send the credential's requests to
	// (https://host[:port][/path]); empty when no single host is implied.
	Target string `json:"target,omitempty"`
	// LeaseTTL is the longest lease the credential grants, as a Go
	// duration string ("15m0s").
	LeaseTTL        string `json:"lease_ttl"`
	NeedsBodySHA256 bool   `json:"needs_body_sha256"`
}

// CredentialList is the body of GET /v1/credentials.
type CredentialList struct {
	Credentials []CredentialStatus `json:"credentials"`
}

// Scope bounds what a lease may get headers for. Hosts is a subset of the
// credential's hosts; empty Methods or PathPrefixes mean "any".
type Scope struct {
	Hosts        []string `json:"hosts"`
	Methods      []string `json:"methods,omitempty"`
	PathPrefixes []string `json:"path_prefixes,omitempty"`
}

// Lease binding modes.
const (
	// BindUID lets any process of the holder's uid use the lease secret.
	BindUID = "uid"
	// BindProcess lets only the creating process use it, and revokes the
	// lease once that process exits.
	BindProcess = "process"
)

// CreateLeaseRequest is the body of POST /v1/leases.
type CreateLeaseRequest struct {
	Credential   string   `json:"credential"`
	Hosts        []string `json:"hosts,omitempty"`
	Methods      []string `json:"methods,omitempty"`
	PathPrefixes []string `json:"path_prefixes,omitempty"`
	// TTL is a Go duration string ("10m"); empty means the credential's lease_ttl.
	TTL   string `json:"ttl,omitempty"`
	Label string `json:"label,omitempty"`
	// Bind is BindUID (default) or BindProcess.
	Bind string `json:"bind,omitempty"`
}

// Holder says who holds a lease.
type Holder struct {
	UID       uint32 `json:"uid"`
	GID       uint32 `json:"gid"`
	PID       int32  `json:"pid"`
	Label     string `json:"label,omitempty"`
	Container string `json:"container,omitempty"`
}

// Lease states.
const (
	LeaseActive  = "active"
	LeaseRevoked = "revoked"
	LeaseExpired = "expired"
)

// Lease describes a lease; it never carries the secret.
type Lease struct {
	ID              string    `json:"id"`
	Credential      string    `json:"credential"`
	Scope           Scope     `json:"scope"`
	Holder          Holder    `json:"holder"`
	Bind            string    `json:"bind"`
	State           string    `json:"state"`
	CreatedAt       time.Time `json:"created_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	Requests        uint64    `json:"requests"`
	NeedsBodySHA256 bool      `json:"needs_body_sha256"`
}

// CreatedLease is the 201 body of POST /v1/leases: the lease and its
// secret, which is shown this once and never again.
type CreatedLease struct {
	Lease
	Secret string `json:"secret"`
}

// LeaseList is the body of GET /v1/leases.
type LeaseList struct {
	Leases []Lease `json:"leases"`
}

// RenewedLease is the 200 body of POST /v1/leases/{id}/renew.
type RenewedLease struct {
	Lease
	// Capped reports that the renewal was shortened to the lease's
	// maximum lifetime (created_at + the credential's lease_max_lifetime):
	// expires_at is as far as this lease goes; acquire a new one after it.
	Capped bool `json:"capped"`
}

// RenewLeaseRequest is the (optional) body of POST /v1/leases/{id}/renew.
type RenewLeaseRequest struct {
	// TTL is a Go duration string; empty means the lease's own TTL.
	TTL string `json:"ttl,omitempty"`
}

// HeadersRequest is the body of POST /v1/leases/{id}/headers.
type HeadersRequest struct {
	Method string `json:"method"`
	// URL is the absolute upstream URL.
	URL string `json:"url"`
	// Headers maps lower-case names to values, several values comma-joined.
	Headers    map[string]string `json:"headers,omitempty"`
	BodySHA256 string            `json:"body_sha256,omitempty"`
}

// HeadersResponse is the 200 body of POST /v1/leases/{id}/headers.
type HeadersResponse struct {
	// Set maps lower-case header names to the values to set.
	Set map[string]string `json:"set"`
	// Remove lists lower-case header names to delete.
	Remove     []string  `json:"remove"`
	ValidUntil time.Time `json:"valid_until"`
}

// IdentityRegistration is the body of PUT /v1/identities/{name}.
type IdentityRegistration struct {
	RequestURL   string `json:"request_url"`
	RequestToken string `json:"request_token"`
}

// Identity describes an identity; it never carries a request token.
type Identity struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Registered bool   `json:"registered"`
	Generation uint64 `json:"generation"`
	// Credentials names the credentials that exchange this identity: the
	// ones a registration binds to the job.
	Credentials []string `json:"credentials,omitempty"`
	// LeasesRevoked counts the leases this registration or clearing
	// revoked (the previous job's).
	LeasesRevoked int `json:"leases_revoked,omitempty"`
}

// Event is one message on GET /v1/events. It never carries a secret.
type Event struct {
	// Seq numbers the broker's events from 1, without gaps; a subscriber
	// that sees a gap was sent only what it may see.
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Type       string    `json:"type"`
	Credential string    `json:"credential,omitempty"`
	Lease      string    `json:"lease,omitempty"`
	Identity   string    `json:"identity,omitempty"`
	// Holder is the lease's holder, on lease events.
	Holder *Holder        `json:"holder,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}

// Event types.
const (
	// EventCredentialState: the credential's state changed; detail.state,
	// detail.previous.
	EventCredentialState = "credential.state"
	// EventCredentialRefreshed: an exchange succeeded; detail.expires_in.
	EventCredentialRefreshed = "credential.refreshed"
	// EventCredentialRefreshFailed: an exchange failed; detail.error
	// (redacted), detail.code, detail.permanent, detail.retry_in.
	EventCredentialRefreshFailed = "credential.refresh_failed"
	// EventCredentialLifetimeWarning: an exchange gave a token living less
	// than 2 min, or one whose stated lifetime was clamped to 1 s–24 h;
	// detail.expires_in, detail.stated_expires_in, detail.minimum.
	EventCredentialLifetimeWarning = "credential.lifetime_warning"
	EventLeaseCreated              = "lease.created"
	EventLeaseRenewed              = "lease.renewed"
	EventLeaseRevoked              = "lease.revoked"
	EventLeaseExpired              = "lease.expired"
	EventIdentityRegistered        = "identity.registered"
	EventIdentityCleared           = "identity.cleared"
	// EventReload: the daemon reloaded its config.
	EventReload = "reload"
)

// EventTypes lists every event type, for filters and documentation.
func EventTypes() []string {
	return []string{EventCredentialState, EventCredentialRefreshed, EventCredentialRefreshFailed, EventCredentialLifetimeWarning,
		EventLeaseCreated, EventLeaseRenewed, EventLeaseRevoked, EventLeaseExpired,
		EventIdentityRegistered, EventIdentityCleared, EventReload}
}
