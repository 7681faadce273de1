package tokens

import (
	"context"
	"fmt"
	"time"
)

// Refresh forces an exchange now, joining the one in flight if any, and
// waits for it. A failed exchange is returned as an error wrapping the
// provider's; the status says the rest.
func (c *Cache) Refresh(ctx context.Context) (Status, error) {
	c.mu.Lock()
	f, started, err := c.joinLocked()
	c.mu.Unlock()
	if err != nil {
		return c.Status(), err
	}
	return c.await(ctx, f, started)
}

// Invalidate handles an upstream's 401 for the current token: it
// re-exchanges now, joining the exchange in flight if any, and reports
// whether it did. It starts at most one exchange per InvalidateInterval,
// and none while a failed exchange is backing off (that would defy the
// upstream's Retry-After). The current token keeps serving until replaced.
// Being bounded by InvalidateInterval, it is exempt from ExchangeSpacing:
// a token the upstream refused is replaced at once.
func (c *Cache) Invalidate(ctx context.Context) (Status, bool, error) {
	c.mu.Lock()
	now := c.cfg.Clock.Now()
	if c.inflight == nil && c.runCtx != nil &&
		(!mayInvalidate(now, c.lastInvalidate) || c.backingOffLocked(now)) {
		c.mu.Unlock()
		return c.Status(), false, nil
	}
	f, started, err := c.joinLocked()
	if err == nil {
		c.lastInvalidate = now
	}
	c.mu.Unlock()
	if err != nil {
		return c.Status(), false, err
	}
	st, err := c.await(ctx, f, started)
	return st, true, err
}

// mayInvalidate reports whether an invalidation at now may re-exchange,
// the last one having been at last (zero: never).
func mayInvalidate(now, last time.Time) bool {
	return last.IsZero() || now.Sub(last) >= InvalidateInterval
}

// Purge drops the token (its identity registration changed): the
// credential is pending again, an exchange in flight is discarded when it
// returns, and a new one is scheduled at once.
func (c *Cache) Purge() {
	c.mu.Lock()
	c.entry.Store(nil)
	c.epoch++
	c.lastErr, c.lastCode, c.permanent, c.attempt = nil, "", false, 0
	c.lastExchange = time.Time{} // a new registration's first exchange is not spaced
	c.nextRefresh = c.cfg.Clock.Now()
	c.broadcastLocked()
	c.mu.Unlock()
	c.wake()
	c.notify()
}

// joinLocked returns the exchange in flight, starting one if there is
// none, and reports whether it started it. It fails when Run is not running.
func (c *Cache) joinLocked() (*flight, bool, error) {
	if c.inflight != nil {
		return c.inflight, false, nil
	}
	if c.runCtx == nil || c.stoppingLocked() {
		return nil, false, c.unavailableLocked(c.cfg.Clock.Now(), "the broker is not refreshing it")
	}
	return c.startLocked(), true, nil
}

// await waits for f to end, announcing its start first if started.
func (c *Cache) await(ctx context.Context, f *flight, started bool) (Status, error) {
	if started {
		c.notify()
	}
	select {
	case <-f.done:
		if f.err != nil {
			return c.Status(), fmt.Errorf("refresh credential %q: %w", c.cfg.Name, f.err)
		}
		return c.Status(), nil
	case <-ctx.Done():
		return c.Status(), fmt.Errorf("refresh credential %q: %w", c.cfg.Name, ctx.Err())
	}
}

// startLocked starts an exchange; c.mu is held and Run is running.
func (c *Cache) startLocked() *flight {
	f := &flight{done: make(chan struct{})}
	c.inflight = f
	c.nextRefresh = time.Time{}
	var gen uint64
	if c.cfg.Generation != nil {
		gen = c.cfg.Generation()
	}
	c.broadcastLocked()
	c.wg.Add(1)
	go c.exchange(c.runCtx, f, gen, c.epoch)
	return f
}

// broadcastLocked wakes every waiter to look again.
func (c *Cache) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// wake asks Run to look at the schedule again.
func (c *Cache) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
