package access

import (
	"net/http"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// MayLease answers POST /v1/leases: an admin, or a caller the credential's
// allow lists. An unknown credential is 404 unknown_credential; a known one
// the caller may not lease is 403 forbidden (the caller named it, so
// nothing is hidden by pretending it does not exist).
func (p *Policy) MayLease(c peer.Cred, credential string) error {
	cr, ok := p.creds[credential]
	switch {
	case !ok:
		return refuse(http.StatusNotFound, api.CodeUnknownCredential, "no credential %q", credential)
	case !p.IsAdmin(c) && !cr.Allow.Admits(c):
		return forbidden("uid %d may not lease %q", c.UID, credential)
	}
	return nil
}

// MaySee reports whether c may see a credential at all (GET
// /v1/credentials, its readiness, its events): exactly when it may lease
// it. A credential c may not see answers 404 as if it did not exist.
func (p *Policy) MaySee(c peer.Cred, credential string) bool {
	cr, ok := p.creds[credential]
	return ok && (p.IsAdmin(c) || cr.Allow.Admits(c))
}

// SeeCredential answers GET /v1/credentials/{name}: 404 unknown_credential
// for a credential that does not exist or that c may not see.
func (p *Policy) SeeCredential(c peer.Cred, credential string) error {
	if !p.MaySee(c, credential) {
		return refuse(http.StatusNotFound, api.CodeUnknownCredential, "no credential %q", credential)
	}
	return nil
}

// MayAdminister answers the admin-only routes (refresh, /metrics).
func (p *Policy) MayAdminister(c peer.Cred) error {
	if !p.IsAdmin(c) {
		return forbidden("admin only")
	}
	return nil
}

// ReadinessOf returns which credentials' readiness GET /v1/ready details
// for c: every one for an admin, those c may lease for anyone else, none
// for a caller the broker could not identify (known false). The overall
// state is everyone's to see.
func (p *Policy) ReadinessOf(c peer.Cred, known bool) func(credential string) bool {
	switch {
	case !known:
		return func(string) bool { return false }
	case p.IsAdmin(c):
		return func(string) bool { return true }
	}
	return func(name string) bool { return p.MaySee(c, name) }
}
