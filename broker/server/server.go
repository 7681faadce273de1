// Package server serves the broker's API (DESIGN §4) over HTTP/1.1 on the
// unix socket. Who calls is decided once per connection (peer.ConnContext),
// what they may do is named in one route table (routes.go) and enforced by
// one wrapper (wrap.go, authorize.go); handlers return errors, and one
// writer (errors.go) turns every error into application/problem+json.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Limits of the HTTP server.
const (
	MaxBodyBytes      = 64 << 10
	MaxHeaderBytes    = 64 << 10
	ReadHeaderTimeout = 5 * time.Second
	// BodyReadTimeout bounds the read of a request's body (every route
	// but the event websocket, which reads no body).
	BodyReadTimeout = 10 * time.Second
	IdleTimeout     = 2 * time.Minute
	// DrainTimeout is how long Serve waits for in-flight requests at the
	// end before closing the remaining connections.
	DrainTimeout = 10 * time.Second
)

// Config configures the server.
type Config struct {
	Credentials CredentialSource
	Leases      *lease.Store
	// Policy returns the current access policy (a reload swaps it): every
	// "may this caller …" answer comes from it.
	Policy     func() *access.Policy
	Identities IdentitySource // nil: identity routes answer 404
	Metrics    http.Handler   // nil: /metrics answers 404
	// Events serves GET /v1/events; it filters by caller itself
	// (CallerFromContext). nil: 404.
	Events http.Handler
	// OnGrant, when set, is told of every header request after its answer:
	// the lease's credential ("" when the lease is unknown), the problem
	// code ("" on success) and how long it took. It runs on the hot path
	// and must not allocate or block.
	OnGrant func(credential, code string, d time.Duration)
	Version string
	Logger  hclog.Logger // default a null logger
	Clock   clock.Clock  // default clock.Real()
	// ContainerID finds a caller's container (default peer.ContainerID).
	ContainerID func(pid int32) string
	// ReadHeaderTimeout drops a connection that sends no request headers
	// in time (default ReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
	// BodyReadTimeout answers a request whose body has not arrived in
	// time with 400 and closes its connection (default BodyReadTimeout).
	BodyReadTimeout time.Duration
	// DrainTimeout overrides DrainTimeout when positive.
	DrainTimeout time.Duration
}

// Server is the API server.
type Server struct {
	cfg     Config
	log     hclog.Logger
	conns   *conns
	subs    *subscribers
	handler http.Handler
	bufs    sync.Pool // *[]byte for encoding answers
	// refusals limits the info lines of refused requests.
	refusals *logLimiter
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.ContainerID == nil {
		cfg.ContainerID = peer.ContainerID
	}
	if cfg.Policy == nil {
		none := access.New(access.Config{Self: 0})
		cfg.Policy = func() *access.Policy { return none }
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = ReadHeaderTimeout
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = BodyReadTimeout
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DrainTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger.Named("api"), conns: newConns(), subs: newSubscribers(), refusals: newLogLimiter()}
	s.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	s.handler = s.mux()
	return s
}

// Handler returns the API's handler. Its requests must carry the caller
// (peer.ConnContext or peer.WithCred); without one only Anyone routes answer.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves l until ctx ends, then stops accepting, drains in-flight
// requests for at most the drain timeout and closes what is left.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ConnContext:       s.connContext,
		ConnState:         s.conns.state,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("drain timed out; closing the remaining connections", "timeout", s.cfg.DrainTimeout)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// connContext reads the caller once per connection, at accept, and
// counts the connection against its uid's quota.
func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	ctx = peer.ConnContext(ctx, c)
	if err := peer.ContextError(ctx); err != nil {
		s.log.Warn("cannot identify caller", "error", err)
		return ctx
	}
	cred, _ := peer.FromContext(ctx)
	return s.conns.accept(ctx, c, cred, s.cfg.Policy().MayAddConnection)
}
