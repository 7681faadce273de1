// Package server serves the broker's API (DESIGN §4) over HTTP/1.1 on the
// unix socket. Who calls is decided once per connection (peer), what they
// may do is named in one route table (routes.go), handlers return errors,
// and one writer turns every error into problem+json.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// Limits.
const (
	MaxBodyBytes      = 64 << 10
	MaxHeaderBytes    = 64 << 10
	ReadHeaderTimeout = 5 * time.Second
	IdleTimeout       = 2 * time.Minute
	DrainTimeout      = 10 * time.Second
)

// CredentialSource lists the credentials the server serves.
type CredentialSource interface {
	Get(name string) (Credential, bool)
	All() []Credential
}

// CredentialInfo is a credential's fixed description.
type CredentialInfo struct {
	Name, Provider       string
	Hosts                []string
	LeaseTTL             time.Duration
	AllowUIDs, AllowGIDs []uint32
	NeedsBodySHA256      bool
}

// Credential is what the server needs of one credential. Errors that are
// *api.Problem are written as they are.
type Credential interface {
	Info() CredentialInfo
	Status() api.Credential
	// Headers returns the header change for one request and how long the
	// token behind it stays valid.
	Headers(ctx context.Context, req *provider.Request) (provider.Grant, time.Time, error)
	Refresh(ctx context.Context) (api.Credential, error)
	Invalidate(ctx context.Context) (api.Credential, error)
}

// IdentitySource registers and clears run-time identities; it decides
// who may, and answers *api.Problem errors.
type IdentitySource interface {
	Register(ctx context.Context, name string, caller peer.Cred, reg api.IdentityRegistration) (api.Identity, error)
	Clear(ctx context.Context, name string, caller peer.Cred) (api.Identity, error)
}

// Config configures the server.
type Config struct {
	Credentials CredentialSource
	Leases      *lease.Store
	// Admin reports whether a caller is an admin.
	Admin      func(peer.Cred) bool
	Identities IdentitySource // nil: identity routes answer 404
	Metrics    http.Handler   // nil: /metrics answers 404
	Events     http.Handler   // nil: /v1/events answers 404
	Version    string
	Logger     hclog.Logger
	Clock      clock.Clock
	// ContainerID finds a caller's container (default peer.ContainerID).
	ContainerID func(pid int32) string
	// ReadHeaderTimeout drops a connection that sends no request headers
	// in time (default ReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
}

// Server is the API server.
type Server struct {
	cfg     Config
	log     hclog.Logger
	handler http.Handler
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
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = ReadHeaderTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger.Named("api")}
	s.handler = s.routes()
	return s
}

// Handler returns the API's handler; its requests must carry a peer
// (peer.ConnContext does it).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves l until ctx ends, then drains in-flight requests.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ConnContext:       peer.ConnContext,
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
	sctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
