package tokens

import (
	"context"
	"time"

	"github.com/awf-broker/awf-broker/broker/clock"
)

// wait is Token's slow path: no valid token is at hand.
func (c *Cache) wait(ctx context.Context) (*Entry, error) {
	budget := c.cfg.WaitForToken
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl))
	}
	var timer clock.Timer // made when first needed: failing fast makes none
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	c.mu.Lock()
	deadline := c.cfg.Clock.Now().Add(budget)
	c.waiters++
	defer func() {
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
	}()
	for {
		now := c.cfg.Clock.Now()
		if e := c.entry.Load(); e != nil && c.servable(e, now) {
			c.mu.Unlock()
			return e, nil
		}
		started := false
		if c.inflight == nil {
			switch {
			case c.permanent:
				err := &FailedError{Credential: c.cfg.Name, Code: c.lastCode, Detail: errString(c.lastErr)}
				c.mu.Unlock()
				return nil, err
			case c.stoppingLocked():
				err := c.unavailableLocked(now, "the broker is not refreshing it")
				c.mu.Unlock()
				return nil, err
			case c.runCtx == nil:
				// Run has not started yet: wait for it.
			case c.dueLocked(now):
				c.startLocked()
				started = true
			case c.nextRefresh.After(deadline):
				// Backing off (or honouring a Retry-After) past the wait,
				// or, after a success, held back by the exchange spacing:
				// nothing can arrive in time, so say so now.
				reason := "refresh failing"
				if c.lastErr == nil {
					reason = "next exchange not before " + c.nextRefresh.UTC().Format(time.RFC3339)
				}
				err := c.unavailableLocked(now, reason)
				c.mu.Unlock()
				return nil, err
			}
		}
		ch := c.changed
		c.mu.Unlock()
		if started {
			c.notify()
		}
		if timer == nil {
			timer = c.cfg.Clock.NewTimer(deadline.Sub(now))
		}
		select {
		case <-ch:
		case <-timer.C():
			return nil, c.timedOut()
		case <-ctx.Done():
			return nil, c.timedOut()
		}
		c.mu.Lock()
	}
}

// stoppingLocked reports whether Run has returned or is returning.
func (c *Cache) stoppingLocked() bool {
	return c.stopped || (c.runCtx != nil && c.runCtx.Err() != nil)
}

// dueLocked reports whether a caller without a token may start an exchange
// at now: unless the last one ended less than ExchangeSpacing ago or a
// failed one is backing off, it may.
func (c *Cache) dueLocked(now time.Time) bool {
	return !c.spacingLocked(now) && !c.backingOffLocked(now)
}

// spacingLocked reports whether the last exchange, under the current
// identity registration, ended less than ExchangeSpacing before now.
func (c *Cache) spacingLocked(now time.Time) bool {
	return c.current(c.lastExchangeGen) && now.Before(NextExchange(now, c.lastExchange))
}

// backingOffLocked reports whether a failed exchange is backing off at now.
func (c *Cache) backingOffLocked(now time.Time) bool {
	return c.lastErr != nil && !c.nextRefresh.IsZero() && now.Before(c.nextRefresh)
}

func (c *Cache) timedOut() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unavailableLocked(c.cfg.Clock.Now(), "no valid token within the wait")
}

func (c *Cache) unavailableLocked(now time.Time, reason string) *UnavailableError {
	if c.lastErr != nil {
		reason += ": " + c.lastErr.Error()
	}
	next := c.nextRefresh
	if c.inflight != nil {
		next = time.Time{}
	}
	return &UnavailableError{Credential: c.cfg.Name, RetryAfter: retryHint(now, next), Reason: reason}
}
