// Package tokens caches each credential's token and refreshes it on the
// schedule of DESIGN §5: proactively before expiry, with jittered backoff
// on failure, single-flight for callers that find no valid token, and never
// serving a token past its cut-off. The policy is in policy.go as pure
// functions; the rest is the machinery that applies it.
package tokens

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// Config configures one credential's cache.
type Config struct {
	Name, Provider string
	Exchanger      provider.Exchanger
	// Subject mints identity JWTs; nil for providers that need none.
	Subject provider.Subject
	// Clock defaults to the real clock.
	Clock clock.Clock
	// Logger is the parent of the credential's "refresh.<name>" logger.
	Logger hclog.Logger
	// WaitForToken bounds how long Token waits for an exchange (default 10 s).
	WaitForToken time.Duration
	// Rand returns a uniform value in [0, n), the backoff's jitter;
	// default math/rand/v2.
	Rand func(n int64) int64
	// OnChange, when set, is called after every change of state, outside
	// the credential's locks and one call at a time. It must not block,
	// and may call Status but no other method of the credential.
	OnChange func(Status)
	// OnExchange, when set, is called after every exchange, outside the
	// credential's locks. It must not block.
	OnExchange func(ExchangeResult)
	// Generation, when set, returns the identity registration's generation:
	// a token minted under one generation is served only while it lasts.
	Generation func() uint64
}

// Cache is one credential's token cache and refresh scheduler.
// Token, Refresh, Invalidate, Purge and Status are safe for concurrent use;
// Run drives the refreshes.
type Cache struct {
	cfg   Config
	log   hclog.Logger
	entry atomic.Pointer[Entry] // the token being served; nil for none
	kick  chan struct{}         // wakes Run to look at the schedule again
	wg    sync.WaitGroup        // exchange goroutines, waited for by Run

	notifyMu     sync.Mutex // orders OnChange calls
	lastNotified State      // guarded by notifyMu

	mu              sync.Mutex
	runCtx          context.Context // the running Run's context; nil when none
	stopped         bool            // Run has returned
	inflight        *flight
	changed         chan struct{} // closed and replaced on every change
	epoch           uint64        // bumped by Purge: older exchanges are discarded
	nextRefresh     time.Time     // zero: nothing scheduled
	lastRefresh     time.Time
	lastExchange    time.Time // end of the last exchange that reached the upstream's verdict
	lastExchangeGen uint64    // the identity generation it ran under
	lastErr         error
	lastCode        string
	permanent       bool // lastErr is a permanent refusal
	attempt         int  // failures in a row of the same kind
	refreshes       uint64
	failures        uint64
	discarded       uint64 // exchanges whose outcome was dropped (identity changed, Run stopping)
	lastInvalidate  time.Time
	waiters         int
}

// flight is one exchange in progress; done is closed when it has ended.
type flight struct {
	done chan struct{}
	err  error
}

// New returns a credential's cache. It holds no token until Run has
// exchanged one.
func New(cfg Config) *Cache {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.WaitForToken <= 0 {
		cfg.WaitForToken = DefaultWaitForToken
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Int64N
	}
	return &Cache{
		cfg:     cfg,
		log:     cfg.Logger.Named("refresh." + cfg.Name),
		kick:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
}

// Name returns the credential's name.
func (c *Cache) Name() string { return c.cfg.Name }

// Token returns a servable token. With none at hand it joins (or starts)
// the one exchange in flight and waits up to WaitForToken or ctx's end;
// then it fails with an *UnavailableError. When the upstream refused
// permanently and nothing is in flight it fails at once with a *FailedError.
//
// With a valid token it takes no lock and allocates nothing.
func (c *Cache) Token(ctx context.Context) (*Entry, error) {
	if e := c.entry.Load(); e != nil && c.servable(e, c.cfg.Clock.Now()) {
		return e, nil
	}
	return c.wait(ctx)
}

// servable reports whether e may be served at now: before its cut-off and
// under the current identity registration.
func (c *Cache) servable(e *Entry, now time.Time) bool {
	return e.ServableAt(now) && c.current(e.Generation)
}

// current reports whether gen is the identity registration's generation.
func (c *Cache) current(gen uint64) bool {
	return c.cfg.Generation == nil || c.cfg.Generation() == gen
}
