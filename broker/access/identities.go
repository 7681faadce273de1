package access

import (
	"net/http"
	"net/url"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// MayClearIdentity answers DELETE /v1/identities/{name}: an admin, or a
// caller the identity's allow lists. An identity that cannot be registered
// (none of that name, or a file identity) is 404 unknown_identity.
func (p *Policy) MayClearIdentity(c peer.Cred, name string) error {
	id, ok := p.ids[name]
	switch {
	case !ok:
		return refuse(http.StatusNotFound, api.CodeUnknownIdentity, "no github-actions identity %q", name)
	case !p.IsAdmin(c) && !id.Allow.Admits(c):
		return forbidden("uid %d may not register identity %q", c.UID, name)
	}
	return nil
}

// MayRegisterIdentity answers PUT /v1/identities/{name}: who may clear it,
// and, for anyone but an admin, a request URL whose host is in the
// identity's allowed_request_hosts, loopback included: a non-admin may not
// aim the broker (and the job's request token) at a port of its choosing
// on the broker's own host unless the config lists that host. Whether the
// URL is otherwise acceptable (https, absolute) is the identity's check.
func (p *Policy) MayRegisterIdentity(c peer.Cred, name, requestURL string) error {
	if err := p.MayClearIdentity(c, name); err != nil {
		return err
	}
	if p.IsAdmin(c) {
		return nil
	}
	u, err := url.Parse(requestURL)
	if err != nil || u.Host == "" {
		return refuse(http.StatusBadRequest, api.CodeBadRequest, "identity %q: the request URL is not an absolute URL", name)
	}
	host := u.Hostname()
	for _, pat := range p.ids[name].RequestHosts {
		if identity.MatchHost(pat, host) {
			return nil
		}
	}
	if provider.IsLoopbackHost(host) {
		return forbidden("identity %q: uid %d may register a loopback request URL only when allowed_request_hosts lists %q", name, c.UID, host)
	}
	return forbidden("identity %q: request host %q is not in allowed_request_hosts", name, host)
}
