// Package forward is the per-container forwarder: a reverse proxy the
// agent's SDK points its base URL at. It holds one lease on one credential,
// asks the broker for the headers of every request (one round trip), and
// forwards the request to a fixed upstream with those headers and never with
// the agent's own. It keeps no token state and fails closed: without the
// broker's headers nothing is sent upstream.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// broker is what the forwarder needs from the socket API; *client.Client
// implements it.
type broker interface {
	CreateLease(ctx context.Context, req api.CreateLeaseRequest) (*api.CreatedLease, error)
	RenewLease(ctx context.Context, id, ttl string) (*api.Lease, error)
	RevokeLease(ctx context.Context, id string) (*api.Lease, error)
	Headers(ctx context.Context, id, secret string, req *api.HeadersRequest) (*api.HeadersResponse, error)
	Invalidate(ctx context.Context, id, secret string) (*api.CredentialStatus, error)
	Health(ctx context.Context) (*api.Health, error)
}

// Config configures a Forwarder.
type Config struct {
	// Client talks to the broker. Required.
	Client *client.Client
	// Credential names the credential to lease. Required.
	Credential string
	// Upstream is the base URL; the request's path and query are appended
	// to its path. Required: https, or http to a loopback address.
	Upstream *url.URL
	// DedupeBasePath leaves a request path that already starts with
	// Upstream's path unprefixed, as the gh-aw api-proxy does (sidecar mode).
	DedupeBasePath bool
	// DropQueryParams names query parameters removed from every request
	// (sidecar mode: the key, apiKey and api_key Gemini clients may send).
	DropQueryParams []string
	// Label is recorded on the lease (e.g. the container's name).
	Label string
	// LeaseTTL is the lease lifetime to ask for; 0 means the credential's default.
	LeaseTTL time.Duration
	// MaxWait bounds how long a request waits for the broker or the
	// credential before the forwarder answers 503; default DefaultMaxWait.
	MaxWait time.Duration
	// Provider shapes the forwarder's own error bodies: ProviderAnthropic,
	// ProviderOpenAI, ProviderAzure, ProviderAWS or ProviderGCP. Empty means
	// GuessProvider(Upstream.Host).
	Provider string
	// Transport carries requests upstream; default: DefaultTransport(ResponseHeaderTimeout).
	Transport http.RoundTripper
	// ResponseHeaderTimeout bounds the wait for the upstream's response
	// headers when Transport is nil; default 10 minutes (long, non-streaming
	// model calls answer late).
	ResponseHeaderTimeout time.Duration
	// Logger receives lease events and failures, never a secret; nil discards.
	Logger *slog.Logger
	// Clock returns the current time; default time.Now.
	Clock func() time.Time
}

// Forwarder is an http.Handler that forwards requests to one upstream with
// headers granted by the broker under one lease.
type Forwarder struct {
	b         broker
	up        upstream
	transport http.RoundTripper
	owned     *http.Transport // closed on Close when the forwarder built it
	log       *slog.Logger
	now       func() time.Time
	jitter    func() float64 // in [0, 1): spreads retries toward the broker
	maxWait   time.Duration
	provider  string
	leases    *leaseKeeper
	bodies    sync.Pool // *[]byte, request bodies kept in memory
	copyBufs  sync.Pool // *[]byte, response copy buffers
	tunnels   tunnels   // open WebSockets, stopped on Close

	life      context.Context // ends on Close
	stop      context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New checks cfg and returns a Forwarder; call Start to acquire its lease.
func New(cfg Config) (*Forwarder, error) {
	if cfg.Client == nil {
		return nil, errors.New("forward: Config.Client is required")
	}
	return newForwarder(cfg, cfg.Client)
}

func newForwarder(cfg Config, b broker) (*Forwarder, error) {
	if cfg.Credential == "" {
		return nil, errors.New("forward: Config.Credential is required")
	}
	if cfg.Upstream == nil {
		return nil, errors.New("forward: Config.Upstream is required")
	}
	if err := checkUpstream(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if cfg.LeaseTTL < 0 || cfg.MaxWait < 0 {
		return nil, errors.New("forward: LeaseTTL and MaxWait must not be negative")
	}
	f := &Forwarder{
		b:        b,
		up:       newUpstream(cfg.Upstream, cfg.DedupeBasePath, cfg.DropQueryParams),
		log:      cfg.Logger,
		now:      cfg.Clock,
		jitter:   rand.Float64,
		maxWait:  cfg.MaxWait,
		provider: cfg.Provider,
	}
	switch f.provider {
	case "":
		f.provider = GuessProvider(cfg.Upstream.Host)
	case ProviderAnthropic, ProviderOpenAI, ProviderAzure, ProviderAWS, ProviderGCP:
	default:
		return nil, fmt.Errorf("forward: unknown provider %q (want anthropic, openai, azure, aws or gcp)", cfg.Provider)
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.log = f.log.With("credential", cfg.Credential, "upstream", f.up.prefix)
	if f.now == nil {
		f.now = time.Now
	}
	if f.maxWait == 0 {
		f.maxWait = DefaultMaxWait
	}
	f.transport = cfg.Transport
	if f.transport == nil {
		f.owned = DefaultTransport(cfg.ResponseHeaderTimeout)
		f.transport = f.owned
	}
	ttl := ""
	if cfg.LeaseTTL > 0 {
		ttl = cfg.LeaseTTL.String()
	}
	f.leases = newLeaseKeeper(b, api.CreateLeaseRequest{
		Credential: cfg.Credential, TTL: ttl, Label: cfg.Label, Bind: api.BindProcess,
	}, ttl, f.log, f.now)
	f.life, f.stop = context.WithCancel(context.Background())
	return f, nil
}

// Start acquires the lease, retrying with backoff until the broker answers
// or ctx ends, then keeps it renewed in a goroutine that stops when ctx ends
// or on Close. It fails at once when the broker refuses the lease for good
// (unknown credential, caller not allowed). Requests that arrive before the
// lease wait for it, up to MaxWait.
func (f *Forwarder) Start(ctx context.Context) error {
	err := errors.New("forward: Start called twice")
	f.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		stopOnClose := context.AfterFunc(f.life, cancel)
		if _, err = f.leases.acquire(ctx, true); err != nil {
			stopOnClose()
			cancel()
			if f.life.Err() != nil {
				err = errClosed
			}
			err = fmt.Errorf("forward: %w", err)
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer stopOnClose()
			defer cancel()
			f.leases.run(ctx)
		}()
	})
	return err
}

// Close ends open WebSockets (a close frame to each end), revokes the lease
// (best effort: the error says why revoking failed) and stops the
// forwarder's goroutines; requests then get 503.
func (f *Forwarder) Close() error {
	f.closeOnce.Do(func() {
		f.stop()
		f.tunnels.closeAll()
		f.wg.Wait()
		s := f.leases.close()
		if s != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := f.b.RevokeLease(ctx, s.id)
			if err != nil && !client.IsCode(err, api.CodeLeaseRevoked) && !client.IsCode(err, api.CodeUnknownLease) {
				f.closeErr = fmt.Errorf("forward: revoke lease %s: %w", s.id, err)
			} else {
				f.log.Info("lease revoked on close", "lease", s.id)
			}
		}
		if f.owned != nil {
			f.owned.CloseIdleConnections()
		}
	})
	return f.closeErr
}
