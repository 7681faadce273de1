package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// call is one request and what the wrapper has established about it.
type call struct {
	w http.ResponseWriter
	r *http.Request
	// caller is who called; known is false when the broker could not tell.
	caller peer.Cred
	known  bool
	// pol is the access policy the request is decided by (one snapshot).
	pol *access.Policy
	// lease is the {id} lease (AdminOrHolder, LeaseSecret routes).
	lease *lease.Lease
	// cred is the {name} credential, or the one a lease request names.
	cred Issuer
	// create is the body of POST /v1/leases (CanLease).
	create api.CreateLeaseRequest
	// register is the body of PUT /v1/identities/{name}.
	register api.IdentityRegistration
	// bodyDeadline reports whether the body's read deadline is set.
	bodyDeadline bool
	// status and code are what was answered, for the log (0: delegated).
	status int
	code   string
}

// params says which path values a route has and what {name} names.
type params struct {
	id, name, credential bool
}

// wrap authorizes a route's caller by the route's permission, runs the
// handler, writes its error and logs the request.
func (s *Server) wrap(rt route) http.Handler {
	p := params{
		id:         strings.Contains(rt.path, "{id}"),
		name:       strings.Contains(rt.path, "{name}"),
		credential: strings.HasPrefix(rt.path, "/v1/credentials/"),
	}
	streams := rt.path == "/v1/events" // a websocket: no body, no deadline
	onGrant := s.cfg.OnGrant
	if rt.path != "/v1/leases/{id}/headers" {
		onGrant = nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.Clock.Now()
		c := &call{w: w, r: r}
		if !streams {
			s.setBodyDeadline(c)
		}
		err := overQuota(r.Context())
		if err != nil {
			// Past its uid's connections_per_uid: answered, then closed.
			w.Header().Set("Connection", "close")
		} else {
			err = s.authorize(rt.perm, p, c)
		}
		if err == nil {
			err = rt.h(s, c)
		}
		if err != nil {
			s.writeError(c, err)
		}
		if onGrant != nil {
			var cred string
			if c.lease != nil {
				cred = c.lease.Credential
			}
			onGrant(cred, c.code, s.cfg.Clock.Now().Sub(start))
		}
		s.logRequest(rt, c, start)
	})
}

// logRequest writes one debug line per request, and an info line for each
// refusal (401, 403, 429), the audit trail of who was turned away, limited
// per caller and code (loglimit.go). Lease changes
// have their own info lines from the lease store. Never the Authorization
// header, never a body.
func (s *Server) logRequest(rt route, c *call, start time.Time) {
	refused := c.status == http.StatusUnauthorized || c.status == http.StatusForbidden || c.status == http.StatusTooManyRequests
	if !refused && !s.log.IsDebug() {
		return
	}
	args := []any{"method", c.r.Method, "route", rt.path, "status", c.status, "uid", c.caller.UID, "pid", c.caller.PID}
	if c.code != "" {
		args = append(args, "code", c.code)
	}
	if c.lease != nil {
		args = append(args, "lease", c.lease.ID)
	} else if id := c.r.PathValue("id"); validID(id) {
		args = append(args, "lease", id)
	}
	if refused {
		ok, suppressed := s.refusals.allow(refusalKey{uid: c.caller.UID, code: c.code}, s.cfg.Clock.Now())
		if !ok {
			return
		}
		if suppressed > 0 {
			args = append(args, "suppressed", suppressed)
		}
		s.log.Info("request refused", args...)
		return
	}
	s.log.Debug("request", append(args, "duration", s.cfg.Clock.Now().Sub(start))...)
}

// clip keeps caller-supplied text short in messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
