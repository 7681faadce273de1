package daemon

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// runtimeIdentity is a github-actions identity that jobs register.
type runtimeIdentity struct {
	name      string
	gh        *identity.GitHubActions
	allowUIDs []uint32
	allowGIDs []uint32
}

// identEntry is one configured identity.
type identEntry struct {
	cfg     config.Identity
	subject provider.Subject
	// generation is the registration's generation (github-actions only).
	generation func() uint64
	// runtime is set for github-actions identities.
	runtime *runtimeIdentity
}

// identities implements server.IdentitySource and binds tokens to
// registrations: a change purges the tokens and revokes the leases of the
// credentials that exchange the identity (DESIGN §5). A reload swaps the
// whole map.
type identities struct {
	d   *Daemon
	cur atomic.Pointer[map[string]*identEntry]
}

func (ids *identities) load() map[string]*identEntry { return *ids.cur.Load() }

func (ids *identities) find(name string, caller peer.Cred) (*runtimeIdentity, error) {
	e, ok := ids.load()[name]
	var id *runtimeIdentity
	if ok {
		id = e.runtime
	}
	if id == nil {
		return nil, &api.Problem{Status: http.StatusNotFound, Code: api.CodeUnknownIdentity, Detail: fmt.Sprintf("no github-actions identity %q", name)}
	}
	if !ids.d.isAdmin(caller) && !slices.Contains(id.allowUIDs, caller.UID) && !slices.Contains(id.allowGIDs, caller.GID) {
		return nil, &api.Problem{Status: http.StatusForbidden, Code: api.CodeForbidden, Detail: fmt.Sprintf("uid %d may not register identity %q", caller.UID, name)}
	}
	return id, nil
}

// Register installs a job's request URL and token.
func (ids *identities) Register(_ context.Context, name string, caller peer.Cred, reg api.IdentityRegistration) (api.Identity, error) {
	ids.d.mu.Lock()
	defer ids.d.mu.Unlock()
	id, err := ids.find(name, caller)
	if err != nil {
		return api.Identity{}, err
	}
	tok := secret.New(reg.RequestToken)
	if err := id.gh.Check(reg.RequestURL, tok); err != nil {
		return api.Identity{}, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: err.Error()}
	}
	if id.gh.Holds(reg.RequestURL, tok) {
		// The same job again: its leases and tokens stay.
		return ids.describe(id, 0), nil
	}
	// The old job's leases end before the new job's registration exists,
	// so no exchange from it can reach them.
	n := ids.revoke(name, "identity re-registered")
	if err := id.gh.Register(reg.RequestURL, tok); err != nil {
		return api.Identity{}, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: err.Error()}
	}
	ids.purge(name)
	out := ids.describe(id, n)
	ids.d.obs.identityChanged(api.EventIdentityRegistered, out)
	return out, nil
}

// Clear forgets the registration.
func (ids *identities) Clear(_ context.Context, name string, caller peer.Cred) (api.Identity, error) {
	ids.d.mu.Lock()
	defer ids.d.mu.Unlock()
	id, err := ids.find(name, caller)
	if err != nil {
		return api.Identity{}, err
	}
	if !id.gh.Registered() {
		// Nothing to clear: no token was minted from it since, and no
		// lease granted (LeaseGate). A repeated job-completed changes
		// nothing.
		return ids.describe(id, 0), nil
	}
	n := ids.revoke(name, "identity cleared")
	id.gh.Clear()
	ids.purge(name)
	out := ids.describe(id, n)
	ids.d.obs.identityChanged(api.EventIdentityCleared, out)
	return out, nil
}

// revoke revokes the leases of the credentials that exchange the identity
// and returns how many it revoked.
func (ids *identities) revoke(name, reason string) int {
	n := 0
	for _, c := range ids.d.creds.load().byName {
		if c.identity == name {
			n += ids.d.leases.RevokeCredential(c.info.Name, reason)
		}
	}
	return n
}

// purge drops the tokens of the credentials that exchange the identity
// (the generation change already keeps them from being served).
func (ids *identities) purge(name string) {
	for _, c := range ids.d.creds.load().byName {
		if c.identity == name {
			c.cache.Purge()
		}
	}
}

// describe answers a registration or clearing that revoked n leases.
func (ids *identities) describe(id *runtimeIdentity, n int) api.Identity {
	var creds []string
	for _, c := range ids.d.creds.load().byName {
		if c.identity == id.name {
			creds = append(creds, c.info.Name)
		}
	}
	slices.Sort(creds)
	return api.Identity{Name: id.name, Type: "github-actions", Registered: id.gh.Registered(), Generation: id.gh.Generation(),
		Credentials: creds, LeasesRevoked: n}
}
