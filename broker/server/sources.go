package server

import (
	"context"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// CredentialSource lists the credentials the server serves.
type CredentialSource interface {
	// Get returns the named credential.
	Get(name string) (Issuer, bool)
	// All returns every credential, in a stable order.
	All() []Issuer
	// LeaseChange runs f, which reads a credential's limits and changes a
	// lease by them (a renewal, a creation), so that a reload cannot swap
	// the credentials between the two after re-checking the leases: the
	// change lands before that re-check or reads the new config. f must
	// not block on anything but the lease store.
	LeaseChange(f func() error) error
}

// Description is a credential's fixed description.
type Description struct {
	Name, Provider string
	// Hosts is the scope ceiling of its leases.
	Hosts []string
	// Target is the base URL forwarders send its requests to; may be empty.
	Target string
	// LeaseTTL is the longest lease it grants.
	LeaseTTL time.Duration
	// LeaseMaxLifetime is the longest a lease lives, renewals included.
	LeaseMaxLifetime time.Duration
	NeedsBodySHA256  bool
}

// Issuer is what the server needs of one credential. Errors that are
// *api.Problem are written as they are (credential_unavailable with
// RetryAfter, credential_failed with UpstreamCode); any other error is a
// 500 whose text goes only to the log.
type Issuer interface {
	Info() Description
	Status() api.CredentialStatus
	// Headers returns the header change for one request and until when
	// the token behind it is valid (zero: no expiry).
	Headers(ctx context.Context, req *provider.Request) (provider.Grant, time.Time, error)
	// Refresh exchanges now and returns the new state.
	Refresh(ctx context.Context) (api.CredentialStatus, error)
	// Invalidate drops a token an upstream refused and re-exchanges
	// (rate-limited by the source), returning the new state.
	Invalidate(ctx context.Context) (api.CredentialStatus, error)
}

// IdentitySource registers and clears run-time identities. Who may is the
// access policy's answer, asked by the wrapper before these are called;
// they answer *api.Problem errors (404 unknown_identity, 400 bad_request).
type IdentitySource interface {
	Register(ctx context.Context, name string, reg api.IdentityRegistration) (api.Identity, error)
	Clear(ctx context.Context, name string) (api.Identity, error)
}
