package tokens

import "time"

// Status returns a snapshot of the credential.
func (c *Cache) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusLocked(c.cfg.Clock.Now())
}

func (c *Cache) statusLocked(now time.Time) Status {
	st := Status{
		Name: c.cfg.Name, Provider: c.cfg.Provider,
		NextRefreshAt: c.nextRefresh, LastRefreshAt: c.lastRefresh,
		LastError: errString(c.lastErr), LastErrorCode: c.lastCode,
		Refreshes: c.refreshes, Failures: c.failures, Waiters: c.waiters,
	}
	e := c.entry.Load()
	if e != nil && !c.current(e.Generation) {
		e = nil // minted for a previous identity registration: as good as none
	}
	if e != nil {
		st.ExpiresAt = e.ExpiresAt
	}
	st.State = stateOf(e != nil && e.ServableAt(now), e != nil, c.inflight != nil, c.lastErr != nil, c.permanent)
	return st
}

// notify calls OnChange when the state has changed since its last call.
// notifyMu keeps the calls in order, so the last one tells the truth.
func (c *Cache) notify() {
	if c.cfg.OnChange == nil {
		return
	}
	c.notifyMu.Lock()
	defer c.notifyMu.Unlock()
	st := c.Status()
	if st.State == c.lastNotified {
		return
	}
	c.lastNotified = st.State
	c.cfg.OnChange(st)
}
