package server

import (
	"context"
	"net/http"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Caller is who called, as the server decided; delegated handlers (events)
// read it with CallerFromContext to filter what they show.
type Caller struct {
	peer.Cred
}

type callerKey struct{}

// CallerFromContext returns the caller of a request the server delegated.
func CallerFromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// delegate hands the request to h with the caller in its context.
func (s *Server) delegate(c *call, h http.Handler) {
	ctx := context.WithValue(c.r.Context(), callerKey{}, Caller{Cred: c.caller})
	h.ServeHTTP(c.w, c.r.WithContext(ctx))
}

func (s *Server) serveEvents(c *call) error {
	if s.cfg.Events == nil {
		return problem(http.StatusNotFound, api.CodeNotFound, "events are not enabled")
	}
	// The events handler may check its query before the upgrade, so that
	// a bad one is answered by the one error writer.
	if v, ok := s.cfg.Events.(interface{ Validate(*http.Request) error }); ok {
		if err := v.Validate(c.r); err != nil {
			return err
		}
	}
	done, err := s.subs.add(c.caller, c.pol.MayAddSubscriber)
	if err != nil {
		return err
	}
	defer done()
	s.delegate(c, s.cfg.Events)
	return nil
}

func (s *Server) serveMetrics(c *call) error {
	if s.cfg.Metrics == nil {
		return problem(http.StatusNotFound, api.CodeNotFound, "metrics are not enabled")
	}
	s.delegate(c, s.cfg.Metrics)
	return nil
}
