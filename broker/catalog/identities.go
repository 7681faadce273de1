package catalog

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// IdentityEntry is one configured identity.
type IdentityEntry struct {
	// Fingerprint stands for its config but its allow list: a reload
	// keeps an entry (and its registration) whose fingerprint is equal.
	Fingerprint string
	Subject     provider.Subject
	// Generation is the registration's generation (github-actions only).
	Generation func() uint64
	// Runtime is set for github-actions identities, which jobs register.
	Runtime *identity.GitHubActions
}

// IdentitiesConfig configures Identities.
type IdentitiesConfig struct {
	// Mu is held by registrations; the daemon's reloads hold it too, so
	// the two take turns.
	Mu *sync.Mutex
	// Credentials are searched for those exchanging an identity.
	Credentials *Set
	Leases      *lease.Store
	// Announce publishes identity.registered and identity.cleared.
	Announce func(typ string, id api.Identity)
}

// NewIdentities returns the identities, with none configured until Store.
func NewIdentities(cfg IdentitiesConfig) *Identities {
	ids := &Identities{mu: cfg.Mu, creds: cfg.Credentials, leases: cfg.Leases, announce: cfg.Announce}
	ids.Store(map[string]*IdentityEntry{})
	return ids
}

// Identities implements server.IdentitySource and binds tokens to
// registrations: a change purges the tokens and revokes the leases of the
// credentials that exchange the identity (DESIGN §5, Identity binding).
// Who may register is the access policy's answer, asked by the server
// before these run. A reload swaps the whole map.
type Identities struct {
	mu       *sync.Mutex
	cur      atomic.Pointer[map[string]*IdentityEntry]
	creds    *Set
	leases   *lease.Store
	announce func(typ string, id api.Identity)
}

// Load returns the current identities by name.
func (ids *Identities) Load() map[string]*IdentityEntry { return *ids.cur.Load() }

// Store makes m the current identities; m is never modified afterwards.
func (ids *Identities) Store(m map[string]*IdentityEntry) { ids.cur.Store(&m) }

func (ids *Identities) find(name string) (*identity.GitHubActions, error) {
	if e, ok := ids.Load()[name]; ok && e.Runtime != nil {
		return e.Runtime, nil
	}
	return nil, &api.Problem{Status: http.StatusNotFound, Code: api.CodeUnknownIdentity, Detail: fmt.Sprintf("no github-actions identity %q", name)}
}

// Register installs a job's request URL and token.
func (ids *Identities) Register(_ context.Context, name string, reg api.IdentityRegistration) (api.Identity, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	gh, err := ids.find(name)
	if err != nil {
		return api.Identity{}, err
	}
	job, err := gh.Prepare(reg.RequestURL, secret.New(reg.RequestToken))
	if err != nil {
		return api.Identity{}, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: err.Error()}
	}
	if gh.Holds(job) {
		// The same job again: its leases and tokens stay.
		return ids.describe(name, gh, 0), nil
	}
	// The old job's leases end before the new job's registration exists,
	// so no exchange from it can reach them; a lease being created under
	// the old job lands first and is revoked with them (Set.Exclusive).
	var n int
	ids.creds.Exclusive(func() {
		n = ids.revoke(name, "identity re-registered")
		gh.Install(job)
		ids.purge(name)
	})
	out := ids.describe(name, gh, n)
	ids.announce(api.EventIdentityRegistered, out)
	return out, nil
}

// Clear forgets the registration.
func (ids *Identities) Clear(_ context.Context, name string) (api.Identity, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	gh, err := ids.find(name)
	if err != nil {
		return api.Identity{}, err
	}
	if !gh.Registered() {
		// Nothing to clear: no token was minted from it since, and no
		// lease granted (Entry.LeaseGate). A repeated job-completed
		// changes nothing.
		return ids.describe(name, gh, 0), nil
	}
	var n int
	ids.creds.Exclusive(func() {
		n = ids.revoke(name, "identity cleared")
		gh.Clear()
		ids.purge(name)
	})
	out := ids.describe(name, gh, n)
	ids.announce(api.EventIdentityCleared, out)
	return out, nil
}

// revoke revokes the leases of the credentials that exchange the identity
// and returns how many it revoked.
func (ids *Identities) revoke(name, reason string) int {
	n := 0
	for _, c := range ids.creds.Load().ByName {
		if c.identity == name {
			n += ids.leases.RevokeCredential(c.info.Name, reason)
		}
	}
	return n
}

// purge drops the tokens of the credentials that exchange the identity
// (the generation change already keeps them from being served).
func (ids *Identities) purge(name string) {
	for _, c := range ids.creds.Load().ByName {
		if c.identity == name {
			c.cache.Purge()
		}
	}
}

// describe answers a registration or clearing that revoked n leases: the
// identity's state and the credentials that exchange it.
func (ids *Identities) describe(name string, gh *identity.GitHubActions, n int) api.Identity {
	var creds []string
	for _, c := range ids.creds.Load().ByName {
		if c.identity == name {
			creds = append(creds, c.info.Name)
		}
	}
	slices.Sort(creds)
	return api.Identity{Name: name, Type: "github-actions", Registered: gh.Registered(), Generation: gh.Generation(),
		Credentials: creds, LeasesRevoked: n}
}
