package server

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// call is what the wrapper has established about a request.
type call struct {
	caller peer.Cred
	admin  bool
	// lease is the {id} lease, for Holder and LeaseSecret routes.
	lease *lease.Lease
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)
)

// wrap authorizes a route's caller, runs the handler, writes its error
// and logs the request.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		c, err := s.authorize(rt, r)
		if err == nil {
			err = rt.h(rec, r, c)
		}
		if err != nil {
			s.writeError(rec, r, err)
		}
		if s.log.IsDebug() {
			s.log.Debug("request", "method", r.Method, "route", rt.path, "status", rec.status,
				"uid", c.caller.UID, "pid", c.caller.PID, "duration", time.Since(start))
		}
	})
}

func (s *Server) authorize(rt route, r *http.Request) (*call, error) {
	cred, ok := peer.FromContext(r.Context())
	c := &call{caller: cred}
	if !ok {
		if rt.perm == Anyone {
			return c, nil
		}
		return c, problem(http.StatusForbidden, api.CodeForbidden, "the caller's peer credentials could not be read")
	}
	c.admin = s.cfg.Admin != nil && s.cfg.Admin(cred)
	for _, key := range []string{"name", "id"} {
		if v := r.PathValue(key); v != "" || strings.Contains(rt.path, "{"+key+"}") {
			if key == "id" && !uuidRE.MatchString(v) {
				return c, problem(http.StatusBadRequest, api.CodeBadRequest, "lease id %q is not a UUID", clip(v))
			}
			if key == "name" && !nameRE.MatchString(v) {
				return c, problem(http.StatusBadRequest, api.CodeBadRequest, "name %q is invalid (letters, digits, '.', '_', '-'; at most 64)", clip(v))
			}
		}
	}
	switch rt.perm {
	case Admin:
		if !c.admin {
			return c, problem(http.StatusForbidden, api.CodeForbidden, "admin only")
		}
	case Holder:
		l, err := s.cfg.Leases.Get(r.PathValue("id"))
		if err != nil {
			return c, err
		}
		if !c.admin && l.Holder.UID != cred.UID {
			return c, problem(http.StatusForbidden, api.CodeForbidden, "the lease belongs to another user")
		}
		c.lease = l
	case LeaseSecret:
		sec, ok := bearer(r)
		if !ok {
			return c, problem(http.StatusUnauthorized, api.CodeUnauthenticated, "missing or malformed Authorization: Bearer <lease secret>")
		}
		l, err := s.cfg.Leases.Authorize(r.PathValue("id"), sec, cred)
		if err != nil {
			return c, err
		}
		c.lease = l
	}
	return c, nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	sec := strings.TrimSpace(h[7:])
	return sec, sec != "" && len(sec) <= 256
}

// clip keeps caller-supplied text short in error details.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (websocket hijack, flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
