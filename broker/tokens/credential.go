// Package tokens caches each credential's token and refreshes it on the
// schedule of DESIGN §5: proactively before expiry, with jittered backoff
// on failure, single-flight for callers that find no valid token, and never
// serving a token past its cut-off. The policy is in policy.go as pure
// functions; this file is the loop that applies it.
package tokens

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/provider"
)

// exchangeTimeout bounds one exchange, retries included.
const exchangeTimeout = 90 * time.Second

// Config configures one credential's cache.
type Config struct {
	Name, Provider string
	Exchanger      provider.Exchanger
	// Subject mints identity JWTs; nil for providers that need none.
	Subject provider.Subject
	Clock   clock.Clock
	Logger  hclog.Logger
	// WaitForToken bounds how long Token waits for an exchange (default 10 s).
	WaitForToken time.Duration
	// Rand returns a uniform value in [0, n); default math/rand/v2.
	Rand func(n int64) int64
	// OnChange, when set, is called outside locks after every change.
	OnChange func(Status)
	// Generation, when set, returns the identity registration's generation:
	// a token minted under one generation is served only while it lasts.
	Generation func() uint64
}

// Credential is one credential's token cache and refresh scheduler.
type Credential struct {
	cfg   Config
	log   hclog.Logger
	entry atomic.Pointer[Entry]
	kick  chan struct{}
	wg    sync.WaitGroup // exchange goroutines

	mu             sync.Mutex
	runCtx         context.Context // nil while Run is not running
	stopped        bool            // Run has returned
	inflight       *flight
	changed        chan struct{} // closed and replaced on every change
	nextRefresh    time.Time     // zero: nothing scheduled
	lastRefresh    time.Time
	lastErr        error
	lastCode       string
	permanent      bool
	attempt        int
	refreshes      uint64
	failures       uint64
	lastInvalidate time.Time
	lastNotified   State
}

type flight struct {
	done chan struct{}
	err  error
}

// New returns a credential cache; Run starts its exchanges.
func New(cfg Config) *Credential {
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
	return &Credential{
		cfg:     cfg,
		log:     cfg.Logger.Named("refresh." + cfg.Name),
		kick:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
}

// Name returns the credential's name.
func (c *Credential) Name() string { return c.cfg.Name }

// Token returns a servable token. With none at hand it joins (or starts)
// the one exchange in flight and waits up to WaitForToken; then it fails
// with an *UnavailableError, or at once with a *FailedError when the
// upstream refused permanently and nothing is in flight.
func (c *Credential) Token(ctx context.Context) (*Entry, error) {
	if e := c.entry.Load(); e != nil && c.servable(e, c.cfg.Clock.Now()) {
		return e, nil
	}
	return c.waitToken(ctx)
}

func (c *Credential) servable(e *Entry, now time.Time) bool {
	if !e.ServableAt(now) {
		return false
	}
	return c.cfg.Generation == nil || c.cfg.Generation() == e.Generation
}

func (c *Credential) waitToken(ctx context.Context) (*Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.WaitForToken)
	defer cancel()
	for {
		c.mu.Lock()
		now := c.cfg.Clock.Now()
		if e := c.entry.Load(); e != nil && c.servable(e, now) {
			c.mu.Unlock()
			return e, nil
		}
		if c.inflight == nil {
			switch {
			case c.stopped:
				err := c.unavailableLocked(now, "the broker is not refreshing it")
				c.mu.Unlock()
				return nil, err
			case c.permanent:
				err := &FailedError{Credential: c.cfg.Name, Code: c.lastCode, Detail: errString(c.lastErr)}
				c.mu.Unlock()
				return nil, err
			case c.runCtx != nil && (c.lastErr == nil || !now.Before(c.nextRefresh)):
				c.startLocked()
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			err := c.unavailableLocked(c.cfg.Clock.Now(), "no valid token within the wait")
			c.mu.Unlock()
			return nil, err
		}
	}
}

func (c *Credential) unavailableLocked(now time.Time, reason string) *UnavailableError {
	retry := time.Second
	if d := c.nextRefresh.Sub(now); !c.nextRefresh.IsZero() && d > retry {
		retry = d.Round(time.Second)
	}
	if c.lastErr != nil {
		reason += ": " + c.lastErr.Error()
	}
	return &UnavailableError{Credential: c.cfg.Name, RetryAfter: retry, Reason: reason}
}

// Refresh forces an exchange now (joining one in flight) and waits for it.
func (c *Credential) Refresh(ctx context.Context) (Status, error) {
	c.mu.Lock()
	if c.runCtx == nil {
		c.mu.Unlock()
		return c.Status(), &UnavailableError{Credential: c.cfg.Name, RetryAfter: time.Second, Reason: "the broker is not refreshing it"}
	}
	f := c.inflight
	if f == nil {
		f = c.startLocked()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return c.Status(), f.err
	case <-ctx.Done():
		return c.Status(), ctx.Err()
	}
}

// Invalidate handles an upstream 401 for the current token: it re-exchanges
// now, at most once per InvalidateInterval, and reports whether it did (or
// joined one in flight). The current token keeps serving until replaced.
func (c *Credential) Invalidate(ctx context.Context) (Status, bool, error) {
	c.mu.Lock()
	now := c.cfg.Clock.Now()
	if c.inflight == nil && !c.lastInvalidate.IsZero() && now.Sub(c.lastInvalidate) < InvalidateInterval {
		c.mu.Unlock()
		return c.Status(), false, nil
	}
	c.lastInvalidate = now
	c.mu.Unlock()
	st, err := c.Refresh(ctx)
	return st, true, err
}

// Purge drops the token (its identity registration changed) and schedules
// an exchange at once.
func (c *Credential) Purge() {
	c.mu.Lock()
	c.entry.Store(nil)
	c.lastErr, c.lastCode, c.permanent, c.attempt = nil, "", false, 0
	c.nextRefresh = c.cfg.Clock.Now()
	c.broadcastLocked()
	c.mu.Unlock()
	c.wake()
	c.notify()
}

// startLocked starts an exchange; c.mu must be held.
func (c *Credential) startLocked() *flight {
	f := &flight{done: make(chan struct{})}
	c.inflight = f
	c.nextRefresh = time.Time{}
	var gen uint64
	if c.cfg.Generation != nil {
		gen = c.cfg.Generation()
	}
	c.broadcastLocked()
	c.wg.Add(1)
	go c.exchange(c.runCtx, f, gen)
	return f
}

func (c *Credential) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Credential) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// errorCode returns the upstream's machine code of err, if it has one.
func errorCode(err error) string {
	if pe, ok := provider.AsError(err); ok {
		return pe.Code
	}
	var fe *FailedError
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}
