package daemon

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// runtimeIdentity is a github-actions identity that jobs register.
type runtimeIdentity struct {
	name      string
	gh        *identity.GitHubActions
	allowUIDs []uint32
	allowGIDs []uint32
}

// identities implements server.IdentitySource and binds tokens to
// registrations: a change purges the tokens and revokes the leases of the
// credentials that exchange the identity (DESIGN §5).
type identities struct {
	d    *Daemon
	byNm map[string]*runtimeIdentity
}

func (ids *identities) find(name string, caller peer.Cred) (*runtimeIdentity, error) {
	id, ok := ids.byNm[name]
	if !ok {
		return nil, &api.Problem{Status: http.StatusNotFound, Code: api.CodeUnknownIdentity, Detail: fmt.Sprintf("no github-actions identity %q", name)}
	}
	if !ids.d.isAdmin(caller) && !slices.Contains(id.allowUIDs, caller.UID) && !slices.Contains(id.allowGIDs, caller.GID) {
		return nil, &api.Problem{Status: http.StatusForbidden, Code: api.CodeForbidden, Detail: fmt.Sprintf("uid %d may not register identity %q", caller.UID, name)}
	}
	return id, nil
}

// Register installs a job's request URL and token.
func (ids *identities) Register(_ context.Context, name string, caller peer.Cred, reg api.IdentityRegistration) (api.Identity, error) {
	id, err := ids.find(name, caller)
	if err != nil {
		return api.Identity{}, err
	}
	if err := id.gh.Register(reg.RequestURL, secret.New(reg.RequestToken)); err != nil {
		return api.Identity{}, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: err.Error()}
	}
	ids.rebind(name, "identity re-registered")
	out := ids.describe(id)
	ids.d.obs.identityChanged(api.EventIdentityRegistered, out)
	return out, nil
}

// Clear forgets the registration.
func (ids *identities) Clear(_ context.Context, name string, caller peer.Cred) (api.Identity, error) {
	id, err := ids.find(name, caller)
	if err != nil {
		return api.Identity{}, err
	}
	id.gh.Clear()
	ids.rebind(name, "identity cleared")
	out := ids.describe(id)
	ids.d.obs.identityChanged(api.EventIdentityCleared, out)
	return out, nil
}

func (ids *identities) rebind(name, reason string) {
	for _, c := range ids.d.creds.byName {
		if c.identity == name {
			c.cache.Purge()
			ids.d.leases.RevokeCredential(c.info.Name, reason)
		}
	}
}

func (ids *identities) describe(id *runtimeIdentity) api.Identity {
	return api.Identity{Name: id.name, Type: "github-actions", Registered: id.gh.Registered(), Generation: id.gh.Generation()}
}
