package server

import (
	"net/http"
	"strings"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// authorize enforces perm for c, resolving the route's resources (the
// {id} lease, the {name} credential) on the way. Every decision is the
// access policy's (broker/access); this only gathers what it needs.
func (s *Server) authorize(perm Permission, p params, c *call) error {
	r := c.r
	c.caller, c.known = peer.FromContext(r.Context())
	c.pol = s.cfg.Policy()
	if perm == Anyone {
		return nil
	}
	if !c.known {
		return problem(http.StatusForbidden, api.CodeForbidden, "the broker could not identify the caller")
	}
	if p.id && !validID(r.PathValue("id")) {
		// Not echoed: a caller who confuses a lease's id and its secret
		// would get the secret back in the error and the log.
		return problem(http.StatusBadRequest, api.CodeBadRequest, "the lease id is not a UUID")
	}
	if p.name && !validName(r.PathValue("name")) {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "name %q is invalid: letters, digits, '.', '_', '-', at most 64, starting with a letter or digit", clip(r.PathValue("name")))
	}
	switch perm {
	case Admin:
		if err := c.pol.MayAdminister(c.caller); err != nil {
			return err
		}
		if p.credential {
			return s.resolveCredential(c, r.PathValue("name"))
		}
	case AdminOrListFiltered:
		if p.credential {
			return s.resolveCredential(c, r.PathValue("name"))
		}
	case CanLease:
		if err := s.decode(c, &c.create, false); err != nil {
			return err
		}
		name := c.create.Credential
		if name == "" {
			return problem(http.StatusBadRequest, api.CodeBadRequest, "credential is required")
		}
		if !validName(name) {
			return problem(http.StatusBadRequest, api.CodeBadRequest, "credential %q is not a valid name", clip(name))
		}
	case AdminOrHolder:
		l, err := s.cfg.Leases.Get(strings.ToLower(r.PathValue("id")))
		if err != nil {
			return err
		}
		sec, ok := bearer(r)
		if err := c.pol.MayManageLease(c.caller, l.Facts(), ok && l.SecretMatches(sec)); err != nil {
			return err
		}
		c.lease = l
	case LeaseSecret:
		sec, ok := bearer(r)
		if !ok {
			c.w.Header().Set("WWW-Authenticate", "Bearer")
			return problem(http.StatusUnauthorized, api.CodeUnauthenticated, "missing or malformed Authorization: Bearer <lease secret>")
		}
		l, err := s.cfg.Leases.Authorize(strings.ToLower(r.PathValue("id")), sec, c.caller)
		if err != nil {
			return err
		}
		c.lease = l
	case AdminOrIdentityAllowed:
		name := r.PathValue("name")
		if s.cfg.Identities == nil {
			return problem(http.StatusNotFound, api.CodeUnknownIdentity, "no identity %q: none can be registered", name)
		}
		if r.Method != http.MethodPut {
			return c.pol.MayClearIdentity(c.caller, name)
		}
		if err := c.pol.MayClearIdentity(c.caller, name); err != nil {
			return err
		}
		if err := s.decode(c, &c.register, false); err != nil {
			return err
		}
		return c.pol.MayRegisterIdentity(c.caller, name, c.register.RequestURL)
	}
	return nil
}

// resolveCredential finds the named credential if the caller may see it:
// one a non-admin may not lease answers 404, as if it did not exist.
func (s *Server) resolveCredential(c *call, name string) error {
	if err := c.pol.SeeCredential(c.caller, name); err != nil {
		return err
	}
	cr, ok := s.cfg.Credentials.Get(name)
	if !ok {
		return problem(http.StatusNotFound, api.CodeUnknownCredential, "no credential %q", name)
	}
	c.cred = cr
	return nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	const scheme = "bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(scheme):])
	return tok, tok != "" && len(tok) <= 256 && !strings.ContainsAny(tok, " \t")
}

// validID reports whether s is a UUID in its canonical 8-4-4-4-12 form.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// validName reports whether s matches ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}
