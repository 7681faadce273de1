package tokens

import (
	"context"
	"time"

	"github.com/awf-broker/awf-broker/broker/clock"
)

// Run exchanges at once (when no token is held) and then on schedule
// until ctx ends; it returns after every exchange it or a caller started
// has finished. The owner runs it in a goroutine and cancels ctx to stop
// it; it must not run twice at once. After Run returns, Token still serves
// a valid token but starts no exchange.
func (c *Cache) Run(ctx context.Context) {
	c.mu.Lock()
	if c.runCtx != nil {
		c.mu.Unlock()
		panic("tokens: Run of credential " + c.cfg.Name + " called while running")
	}
	c.runCtx, c.stopped = ctx, false
	if c.entry.Load() == nil {
		c.nextRefresh = c.cfg.Clock.Now()
	}
	c.broadcastLocked()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.runCtx, c.stopped = nil, true
		c.broadcastLocked()
		c.mu.Unlock()
		c.wg.Wait()
	}()
	for {
		wait, started := c.step()
		if started {
			c.notify()
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = c.cfg.Clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-fire:
		case <-c.kick:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		// Time alone changes the state too (the cut-off): announce it.
		c.notify()
	}
}

// step starts an exchange if one is due, and returns how long to sleep
// before looking again (-1: until kicked) and whether it started one.
func (c *Cache) step() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock.Now()
	wait, started := time.Duration(-1), false
	if c.runCtx.Err() != nil {
		return wait, false
	}
	if c.inflight == nil && !c.nextRefresh.IsZero() {
		if d := c.nextRefresh.Sub(now); d > 0 {
			wait = d
		} else {
			c.startLocked()
			started = true
		}
	}
	// Wake at the cut-off too, so that the change to expired is announced.
	if e := c.entry.Load(); e != nil && !e.ServeUntil.IsZero() {
		if d := e.ServeUntil.Sub(now); d > 0 && (wait < 0 || d < wait) {
			wait = d
		}
	}
	return wait, started
}
