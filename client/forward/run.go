package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/awf-broker/awf-broker/client"
)

// RunConfig configures Run: what `awf-broker-cli forward` was asked for.
type RunConfig struct {
	// Client talks to the broker. Required.
	Client *client.Client
	// Routes lists the forwarders to run, one per listening address.
	Routes []Route
	// Label is recorded on every lease.
	Label string
	// LeaseTTL is the lease lifetime to ask for; 0 means the credential's default.
	LeaseTTL time.Duration
	// MaxWait bounds how long a request waits for the broker; 0 means DefaultMaxWait.
	MaxWait time.Duration
	// ResponseHeaderTimeout bounds the wait for upstream response headers;
	// 0 means DefaultTransport's 10 minutes.
	ResponseHeaderTimeout time.Duration
	// Logger receives lease events and failures; nil discards.
	Logger *slog.Logger
	// Listening, when set, is called once per route with its bound address
	// (useful with port 0 and to print where the forwarder listens).
	Listening func(r Route, addr net.Addr)
}

// Run starts one Forwarder per route, listens on every route's address
// first (so early requests wait for the lease instead of being refused),
// acquires the leases, and serves until ctx ends; then it shuts the servers
// down and revokes the leases. It returns nil when ctx ends, or the first
// error that stops a route (a listen failure, a lease the broker refuses
// for good).
func Run(ctx context.Context, rc RunConfig) error {
	if rc.Client == nil {
		return errors.New("forward: RunConfig.Client is required")
	}
	if len(rc.Routes) == 0 {
		return errors.New("forward: no routes to serve")
	}
	logger := rc.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{}
	for _, r := range rc.Routes {
		if _, port, _ := net.SplitHostPort(r.Listen); port == "0" {
			continue // the kernel picks distinct ports
		}
		if seen[r.Listen] {
			return fmt.Errorf("forward: two routes listen on %s", r.Listen)
		}
		seen[r.Listen] = true
	}

	ports := make([]port, len(rc.Routes))
	for i, r := range rc.Routes {
		ports[i] = port{
			addr: r.Listen,
			cfg: &Config{
				Client: rc.Client, Credential: r.Credential, Upstream: r.Upstream, Label: rc.Label,
				LeaseTTL: rc.LeaseTTL, MaxWait: rc.MaxWait, ResponseHeaderTimeout: rc.ResponseHeaderTimeout,
				Logger: logger.With("listen", r.Listen),
			},
			name:    "route " + r.String(),
			refused: func(err error) error { return fmt.Errorf("route %s: %w", r, err) },
			logger:  logger.With("listen", r.Listen),
		}
	}
	ls, err := openAll(ports)
	if err != nil {
		return err // it names the route
	}
	for i, l := range ls {
		r := rc.Routes[i]
		if rc.Listening != nil {
			rc.Listening(r, l.ln.Addr())
		}
		logger.Info("forwarding", "listen", l.ln.Addr().String(), "credential", r.Credential, "upstream", r.Upstream.Redacted())
	}
	return serveAll(ctx, ls, logger)
}
