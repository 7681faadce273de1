package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// serveHeaders is the hot path, one call per forwarded request: the
// wrapper has checked the lease secret and holder (LeaseSecret); this
// checks the request against the lease's scope and asks the credential
// for the headers.
func (s *Server) serveHeaders(c *call) error {
	var req api.HeadersRequest
	if err := s.decodeHeaders(c, &req); err != nil {
		return err
	}
	method := strings.ToUpper(req.Method)
	if !lease.ValidMethod(method) {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "method %q is not an HTTP method", clip(req.Method))
	}
	u, err := lease.NormalizeURL(req.URL)
	if err != nil {
		return err
	}
	l := c.lease
	if err := l.Check(method, u); err != nil {
		return err
	}
	sum := strings.ToLower(req.BodySHA256)
	if (l.NeedsBodySHA256 || sum != "") && !isHexSHA256(sum) {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "body_sha256 must be the body's SHA-256 as 64 hex digits (required for this credential: %t)", l.NeedsBodySHA256)
	}
	cr, ok := s.cfg.Credentials.Get(l.Credential)
	if !ok {
		return problem(http.StatusGone, api.CodeLeaseRevoked, "lease %s: its credential is no longer configured", l.ID)
	}
	grant, validUntil, err := cr.Headers(c.r.Context(), &provider.Request{Method: method, URL: u, Headers: req.Headers, BodySHA256: sum})
	if err != nil {
		return err
	}
	// The lease may have been revoked while the token was awaited (an
	// identity re-registration, a reload): a token is never handed to a
	// lease that has ended.
	if l.State() == api.LeaseRevoked {
		return problem(http.StatusGone, api.CodeLeaseRevoked, "lease %s was revoked", l.ID)
	}
	if exp := l.ExpiresAt(); validUntil.IsZero() || exp.Before(validUntil) {
		validUntil = exp
	}
	bp := s.bufs.Get().(*[]byte)
	b := appendHeadersResponse((*bp)[:0], grant.Set, grant.Remove, validUntil.UTC().Truncate(time.Second))
	s.writeBody(c, http.StatusOK, b)
	*bp = b
	s.bufs.Put(bp)
	return nil
}

// serveInvalidate tells the credential an upstream refused its token.
func (s *Server) serveInvalidate(c *call) error {
	cr, ok := s.cfg.Credentials.Get(c.lease.Credential)
	if !ok {
		return problem(http.StatusGone, api.CodeLeaseRevoked, "lease %s: its credential is no longer configured", c.lease.ID)
	}
	st, err := cr.Invalidate(c.r.Context())
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusAccepted, st)
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
