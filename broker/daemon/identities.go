package daemon

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// identEntry is one configured identity.
type identEntry struct {
	// fingerprint stands for its config but its allow list: a reload
	// keeps an entry (and its registration) whose fingerprint is equal.
	fingerprint string
	subject     provider.Subject
	// generation is the registration's generation (github-actions only).
	generation func() uint64
	// runtime is set for github-actions identities, which jobs register.
	runtime *identity.GitHubActions
}

// identities implements server.IdentitySource and binds tokens to
// registrations: a change purges the tokens and revokes the leases of the
// credentials that exchange the identity (DESIGN §5, Identity binding).
// Who may register is the access policy's answer, asked by the server
// before these run. A reload swaps the whole map.
type identities struct {
	// mu is the daemon's: registrations and reloads take turns.
	mu       *sync.Mutex
	cur      atomic.Pointer[map[string]*identEntry]
	creds    *credSet
	leases   *lease.Store
	announce func(typ string, id api.Identity)
}

func (ids *identities) load() map[string]*identEntry { return *ids.cur.Load() }

func (ids *identities) find(name string) (*identity.GitHubActions, error) {
	if e, ok := ids.load()[name]; ok && e.runtime != nil {
		return e.runtime, nil
	}
	return nil, &api.Problem{Status: http.StatusNotFound, Code: api.CodeUnknownIdentity, Detail: fmt.Sprintf("no github-actions identity %q", name)}
}

// Register installs a job's request URL and token.
func (ids *identities) Register(_ context.Context, name string, _ peer.Cred, reg api.IdentityRegistration) (api.Identity, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	gh, err := ids.find(name)
	if err != nil {
		return api.Identity{}, err
	}
	tok := secret.New(reg.RequestToken)
	if err := gh.Check(reg.RequestURL, tok); err != nil {
		return api.Identity{}, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: err.Error()}
	}
	// The old job's leases end before the new job's registration exists,
	// so no exchange from it can reach them.
	ids.revoke(name, "identity re-registered")
	if err := gh.Register(reg.RequestURL, tok); err != nil {
		return api.Identity{}, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: err.Error()}
	}
	ids.purge(name)
	out := describe(name, gh)
	ids.announce(api.EventIdentityRegistered, out)
	return out, nil
}

// Clear forgets the registration.
func (ids *identities) Clear(_ context.Context, name string, _ peer.Cred) (api.Identity, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	gh, err := ids.find(name)
	if err != nil {
		return api.Identity{}, err
	}
	ids.revoke(name, "identity cleared")
	gh.Clear()
	ids.purge(name)
	out := describe(name, gh)
	ids.announce(api.EventIdentityCleared, out)
	return out, nil
}

// revoke revokes the leases of the credentials that exchange the identity.
func (ids *identities) revoke(name, reason string) {
	for _, c := range ids.creds.load().byName {
		if c.identity == name {
			ids.leases.RevokeCredential(c.info.Name, reason)
		}
	}
}

// purge drops the tokens of the credentials that exchange the identity
// (the generation change already keeps them from being served).
func (ids *identities) purge(name string) {
	for _, c := range ids.creds.load().byName {
		if c.identity == name {
			c.cache.Purge()
		}
	}
}

func describe(name string, gh *identity.GitHubActions) api.Identity {
	return api.Identity{Name: name, Type: "github-actions", Registered: gh.Registered(), Generation: gh.Generation()}
}
