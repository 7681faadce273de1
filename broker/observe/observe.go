// Package observe turns what the broker's parts report into events and
// metrics: the token caches' state changes and exchanges, the lease
// store's changes and the identities' registrations are published on the
// event bus; exchanges and header grants are counted. It also serves the
// optional TCP metrics listener.
package observe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/catalog"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/events"
	"github.com/awf-broker/awf-broker/broker/metrics"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/broker/tokens"
)

// Config configures an Observer.
type Config struct {
	Version string
	Clock   clock.Clock
	Logger  hclog.Logger
	// Credentials are the served credentials, for the state metrics.
	Credentials *catalog.Set
	// ActiveLeases counts the active leases by credential.
	ActiveLeases func() map[string]int
	// Policy returns the current access policy (a reload swaps it): what
	// an event subscriber may see.
	Policy func() *access.Policy
}

// Observer publishes events and keeps the metrics. Its hooks
// (CredentialChanged, Exchanged, IdentityChanged, Publish) never block.
type Observer struct {
	log     hclog.Logger
	creds   *catalog.Set
	policy  func() *access.Policy
	bus     *events.Bus
	metrics *metrics.Metrics
	events  *events.Handler

	mu       sync.Mutex
	previous map[string]string // each credential's last announced state

	addrMu sync.Mutex
	addr   net.Addr // the TCP metrics listener's address, once listening
}

// New returns an Observer; Start opens its metrics listener.
func New(cfg Config) *Observer {
	o := &Observer{log: cfg.Logger.Named("observe"), creds: cfg.Credentials, policy: cfg.Policy, previous: map[string]string{}}
	o.metrics = metrics.New(metrics.Config{
		Version:      cfg.Version,
		Credentials:  o.snapshots,
		ActiveLeases: cfg.ActiveLeases,
		Subscribers:  func() int { return o.bus.Subscribers() },
	})
	o.bus = events.New(events.Config{Clock: cfg.Clock, OnDrop: o.metrics.SubscriberDropped})
	o.events = events.NewHandler(events.HandlerConfig{Bus: o.bus, Access: o.access, Logger: cfg.Logger})
	return o
}

// Bus returns the event bus.
func (o *Observer) Bus() *events.Bus { return o.bus }

// Metrics returns the metrics.
func (o *Observer) Metrics() *metrics.Metrics { return o.metrics }

// Events returns the GET /v1/events handler.
func (o *Observer) Events() *events.Handler { return o.events }

// ListenAddr returns the TCP metrics listener's address, nil when there
// is none (or it is not open yet).
func (o *Observer) ListenAddr() net.Addr {
	o.addrMu.Lock()
	defer o.addrMu.Unlock()
	return o.addr
}

// Publish sends ev to the subscribers (the lease store's hook).
func (o *Observer) Publish(ev api.Event) { o.bus.Publish(ev) }

// CredentialChanged is every token cache's OnChange.
func (o *Observer) CredentialChanged(st tokens.Status) {
	o.mu.Lock()
	prev := o.previous[st.Name]
	o.previous[st.Name] = string(st.State)
	o.mu.Unlock()
	detail := map[string]any{"state": string(st.State)}
	if prev != "" {
		detail["previous"] = prev
	}
	if st.LastErrorCode != "" {
		detail["code"] = st.LastErrorCode
	}
	o.bus.Publish(api.Event{Type: api.EventCredentialState, Credential: st.Name, Detail: detail})
}

// Exchanged is every token cache's OnExchange. The error text is the
// provider's redacted one, as in the audit log and last_error.
func (o *Observer) Exchanged(r tokens.ExchangeResult) {
	o.metrics.Exchange(r.Credential, r.Outcome, r.Duration)
	switch r.Outcome {
	case tokens.OutcomeOK:
		detail := map[string]any{"duration": r.Duration.String()}
		if r.Lifetime > 0 {
			detail["expires_in"] = r.Lifetime.String()
		}
		if r.RequestID != "" {
			detail["request_id"] = r.RequestID
		}
		o.bus.Publish(api.Event{Type: api.EventCredentialRefreshed, Credential: r.Credential, Detail: detail})
		if r.ShortLived() {
			o.bus.Publish(api.Event{Type: api.EventCredentialLifetimeWarning, Credential: r.Credential, Detail: map[string]any{
				"expires_in": r.Lifetime.String(), "stated_expires_in": r.StatedLifetime.String(),
				"minimum": tokens.ShortLifetime.String(), "request_id": r.RequestID}})
		}
	case tokens.OutcomeError, tokens.OutcomeFailed:
		detail := map[string]any{"error": r.Error, "permanent": r.Outcome == tokens.OutcomeFailed,
			"retry_in": r.RetryIn.String(), "duration": r.Duration.String()}
		if r.Code != "" {
			detail["code"] = r.Code
		}
		if r.RequestID != "" {
			detail["request_id"] = r.RequestID
		}
		o.bus.Publish(api.Event{Type: api.EventCredentialRefreshFailed, Credential: r.Credential, Detail: detail})
	}
}

// IdentityChanged announces a registration or its clearing.
func (o *Observer) IdentityChanged(typ string, id api.Identity) {
	o.bus.Publish(api.Event{Type: typ, Identity: id.Name, Detail: map[string]any{"generation": id.Generation, "registered": id.Registered}})
}

// access is what a GET /v1/events caller sees: what the access policy
// lets it see, asked of the current policy at each event, so that a
// reload that narrows what a subscriber may see applies to its stream too.
func (o *Observer) access(r *http.Request) func(api.Event) bool {
	c, ok := server.CallerFromContext(r.Context())
	if !ok {
		return func(api.Event) bool { return false }
	}
	return func(ev api.Event) bool { return o.policy().MaySeeEvent(c.Cred, ev) }
}

func (o *Observer) snapshots() []metrics.CredentialSnapshot {
	all := o.creds.All()
	out := make([]metrics.CredentialSnapshot, 0, len(all))
	for _, c := range all {
		st := c.Status()
		s := metrics.CredentialSnapshot{Name: st.Name, State: st.State}
		if st.ExpiresAt != nil {
			s.ExpiresAt = *st.ExpiresAt
		}
		out = append(out, s)
	}
	return out
}

// Start opens the optional TCP metrics listener on addr ("" for none)
// and returns the function that stops it and closes every event
// subscription.
func (o *Observer) Start(addr string) (stop func(), err error) {
	for _, c := range o.creds.All() {
		o.metrics.Prepare(c.Info().Name)
	}
	var srv *http.Server
	errc := make(chan error, 1)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("metrics listener: %w", err)
		}
		o.addrMu.Lock()
		o.addr = l.Addr()
		o.addrMu.Unlock()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", o.metrics.Handler())
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { errc <- srv.Serve(l) }()
		o.log.Info("serving metrics", "listen", l.Addr().String())
	}
	return func() {
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
			cancel()
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				o.log.Warn("metrics listener failed", "error", err)
			}
		}
		// The websocket connections were hijacked: http.Server.Shutdown
		// does not wait for them, so they end here.
		o.bus.Close()
		o.bus.Wait()
	}, nil
}
