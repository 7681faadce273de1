package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
)

// title is the short, stable title of each code.
func title(code string) string {
	switch code {
	case api.CodeBadRequest:
		return "Bad request"
	case api.CodeUnknownField:
		return "Unknown field"
	case api.CodeTooLarge:
		return "Request body too large"
	case api.CodeUnauthenticated:
		return "Unauthenticated"
	case api.CodeForbidden:
		return "Forbidden"
	case api.CodeNotFound:
		return "Not found"
	case api.CodeMethodNotAllowed:
		return "Method not allowed"
	case api.CodeUnknownCredential:
		return "Unknown credential"
	case api.CodeUnknownIdentity:
		return "Unknown identity"
	case api.CodeUnknownLease:
		return "Unknown lease"
	case api.CodeLeaseExpired:
		return "Lease expired"
	case api.CodeLeaseRevoked:
		return "Lease revoked"
	case api.CodeScopeViolation:
		return "Outside the lease's scope"
	case api.CodeInsecureURL:
		return "Insecure URL"
	case api.CodeCredentialUnavailable:
		return "Credential unavailable"
	case api.CodeCredentialFailed:
		return "Credential failed"
	default:
		return "Internal error"
	}
}

// problem returns an *api.Problem with the code's type and title.
func problem(status int, code, format string, args ...any) *api.Problem {
	return &api.Problem{Type: api.ProblemTypeBase + code, Title: title(code), Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// toProblem maps any error to the problem the caller sees. Only
// *api.Problem and *lease.Error details reach the caller; anything else is
// logged and answered with a generic 500.
func (s *Server) toProblem(r *http.Request, err error) *api.Problem {
	var p *api.Problem
	var le *lease.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &p):
		cp := *p
		p = &cp
	case errors.As(err, &le):
		p = problem(le.Status, le.Code, "%s", le.Msg)
	case errors.As(err, &mbe):
		p = problem(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		s.log.Debug("request ended before the credential answered", "method", r.Method, "path", r.URL.Path, "error", err)
		p = problem(http.StatusServiceUnavailable, api.CodeCredentialUnavailable, "the request ended before the credential answered")
		p.RetryAfter = 1
	default:
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		p = problem(http.StatusInternalServerError, api.CodeInternal, "the broker failed to answer; see its log")
	}
	if p.Code == "" {
		p.Code = api.CodeInternal
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = api.ProblemTypeBase + p.Code
	}
	if p.Title == "" {
		p.Title = title(p.Code)
	}
	return p
}

// writeError is the one place errors become responses: application/
// problem+json, with Retry-After when the problem is retryable.
func (s *Server) writeError(c *call, err error) {
	p := s.toProblem(c.r, err)
	c.status, c.code = p.Status, p.Code
	h := c.w.Header()
	h.Set("Content-Type", api.ProblemContentType)
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	c.w.WriteHeader(p.Status)
	b, _ := json.Marshal(p) // a Problem always encodes
	_, _ = c.w.Write(append(b, '\n'))
}

// fail writes err for a request outside the route table (404, 405).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	c := &call{w: w, r: r}
	s.writeError(c, err)
	if s.log.IsDebug() {
		s.log.Debug("request", "method", r.Method, "path", clip(r.URL.Path), "status", c.status, "code", c.code)
	}
}
