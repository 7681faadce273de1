package server

import (
	"net/http"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// serveHeaders is the hot path: one per forwarded request.
func (s *Server) serveHeaders(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.HeadersRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Method == "" {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "method is required")
	}
	u, err := lease.NormalizeURL(req.URL)
	if err != nil {
		return err
	}
	l := c.lease
	if err := l.Check(req.Method, u); err != nil {
		return err
	}
	if l.NeedsBodySHA256 && !isHexSHA256(req.BodySHA256) {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "body_sha256 (64 hex digits) is required for this credential")
	}
	cr, ok := s.cfg.Credentials.Get(l.Credential)
	if !ok {
		return problem(http.StatusGone, api.CodeLeaseRevoked, "the lease's credential is gone")
	}
	grant, validUntil, err := cr.Headers(r.Context(), &provider.Request{Method: req.Method, URL: u, Headers: req.Headers, BodySHA256: req.BodySHA256})
	if err != nil {
		return err
	}
	if exp := l.ExpiresAt(); validUntil.IsZero() || exp.Before(validUntil) {
		validUntil = exp
	}
	remove := grant.Remove
	if remove == nil {
		remove = []string{}
	}
	return writeJSON(w, http.StatusOK, api.HeadersResponse{Set: grant.Set, Remove: remove, ValidUntil: validUntil.UTC().Truncate(time.Second)})
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
