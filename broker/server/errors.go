package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
)

// titles are the short, stable titles of each code.
var titles = map[string]string{
	api.CodeBadRequest: "Bad request", api.CodeUnknownField: "Unknown field", api.CodeTooLarge: "Request body too large",
	api.CodeUnauthenticated: "Unauthenticated", api.CodeForbidden: "Forbidden", api.CodeNotFound: "Not found",
	api.CodeMethodNotAllowed: "Method not allowed", api.CodeUnknownCredential: "Unknown credential",
	api.CodeUnknownIdentity: "Unknown identity", api.CodeUnknownLease: "Unknown lease", api.CodeLeaseExpired: "Lease expired",
	api.CodeLeaseRevoked: "Lease revoked", api.CodeScopeViolation: "Outside the lease's scope", api.CodeInsecureURL: "Insecure URL",
	api.CodeCredentialUnavailable: "Credential unavailable", api.CodeCredentialFailed: "Credential failed", api.CodeInternal: "Internal error",
}

// problem returns an *api.Problem with the code's title.
func problem(status int, code, format string, args ...any) *api.Problem {
	return &api.Problem{Type: api.ProblemTypeBase + code, Title: titles[code], Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// writeError is the one place errors become responses.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p *api.Problem
	var le *lease.Error
	switch {
	case errors.As(err, &p):
		cp := *p
		p = &cp
	case errors.As(err, &le):
		p = problem(le.Status, le.Code, "%s", le.Msg)
	default:
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		p = problem(http.StatusInternalServerError, api.CodeInternal, "the broker failed to answer; see its log")
	}
	if p.Type == "" {
		p.Type = api.ProblemTypeBase + p.Code
	}
	if p.Title == "" {
		p.Title = titles[p.Code]
	}
	w.Header().Set("Content-Type", api.ProblemContentType)
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes a 2xx JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}
