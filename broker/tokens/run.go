package tokens

import (
	"context"
	"time"
)

// Run exchanges at once and then on schedule until ctx ends; it returns
// after every exchange it started has finished. The owner runs it in a
// goroutine and cancels ctx to stop it.
func (c *Credential) Run(ctx context.Context) {
	c.mu.Lock()
	c.runCtx = ctx
	c.nextRefresh = c.cfg.Clock.Now()
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
		wait := c.step()
		var (
			timer interface{ Stop() bool }
			fire  <-chan time.Time
		)
		if wait >= 0 {
			t := c.cfg.Clock.NewTimer(wait)
			timer, fire = t, t.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-fire:
		case <-c.kick:
			if timer != nil {
				timer.Stop()
			}
		}
		c.notify()
	}
}

// step starts a due exchange and returns how long to sleep before the next
// look (-1: until kicked).
func (c *Credential) step() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock.Now()
	if c.inflight != nil {
		return -1
	}
	wait := time.Duration(-1)
	if !c.nextRefresh.IsZero() {
		if d := c.nextRefresh.Sub(now); d > 0 {
			wait = d
		} else {
			c.startLocked()
			return -1
		}
	}
	// Wake at the cut-off too, so that the change to expired is announced.
	if e := c.entry.Load(); e != nil && !e.ServeUntil.IsZero() {
		if d := e.ServeUntil.Sub(now); d > 0 && (wait < 0 || d < wait) {
			wait = d
		}
	}
	return wait
}

// Status returns a snapshot of the credential.
func (c *Credential) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusLocked(c.cfg.Clock.Now())
}

func (c *Credential) statusLocked(now time.Time) Status {
	st := Status{
		Name: c.cfg.Name, Provider: c.cfg.Provider,
		NextRefreshAt: c.nextRefresh, LastRefreshAt: c.lastRefresh,
		LastError: errString(c.lastErr), LastErrorCode: c.lastCode,
		Refreshes: c.refreshes, Failures: c.failures,
	}
	e := c.entry.Load()
	valid := e != nil && c.servable(e, now)
	if e != nil {
		st.ExpiresAt = e.ExpiresAt
	}
	switch {
	case c.inflight != nil && valid:
		st.State = StateRefreshing
	case valid && c.lastErr != nil:
		st.State = StateDegraded
	case valid:
		st.State = StateReady
	case c.permanent:
		st.State = StateFailed
	case e != nil:
		st.State = StateExpired
	default:
		st.State = StatePending
	}
	return st
}

// notify calls OnChange when the state has changed since the last call,
// and after every exchange.
func (c *Credential) notify() {
	if c.cfg.OnChange == nil {
		return
	}
	c.mu.Lock()
	st := c.statusLocked(c.cfg.Clock.Now())
	changed := st.State != c.lastNotified
	c.lastNotified = st.State
	c.mu.Unlock()
	if changed {
		c.cfg.OnChange(st)
	}
}
