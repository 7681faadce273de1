package tokens

import (
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// The proactive refresh happens exactly at the policy's time, not a
// nanosecond before.
func TestRefreshPoints(t *testing.T) {
	cases := []struct {
		l, refresh time.Duration
	}{
		{3600 * time.Second, 2700 * time.Second},
		{900 * time.Second, 600 * time.Second},
		{300 * time.Second, 150 * time.Second},
		{60 * time.Second, 30 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.l.String(), func(t *testing.T) {
			h := start(t, newScripted(step{lifetime: c.l}), nil)
			h.waitExchange(1)
			st := h.waitState(StateReady)
			if !st.ExpiresAt.Equal(t0.Add(c.l)) || !st.NextRefreshAt.Equal(t0.Add(c.refresh)) {
				t.Fatalf("after the first exchange: %+v", st)
			}
			h.settle(c.refresh)
			h.clk.Advance(c.refresh - time.Nanosecond)
			h.settle(time.Nanosecond) // the timer has not fired
			if got := h.ex.Calls(); got != 1 {
				t.Fatalf("exchanged %d times before the refresh point", got)
			}
			h.clk.Advance(time.Nanosecond)
			h.waitExchange(2)
			if got := h.ex.callTimes()[1]; !got.Equal(t0.Add(c.refresh)) {
				t.Fatalf("refreshed at %v, want %v", got.Sub(t0), c.refresh)
			}
			st = h.waitState(StateReady)
			at := t0.Add(c.refresh)
			if st.Refreshes != 2 || !st.LastRefreshAt.Equal(at) || !st.ExpiresAt.Equal(at.Add(c.l)) ||
				!st.NextRefreshAt.Equal(at.Add(c.refresh)) {
				t.Errorf("status after the refresh: %+v", st)
			}
		})
	}
}

// A refresh in flight shows as refreshing while the old token serves.
func TestRefreshingServesOldToken(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	first, _ := h.token()
	release := ex.hold()
	h.advanceTo(t0.Add(RefreshAfter(time.Hour)))
	eventually(t, "the refresh to start", func() bool { return ex.Calls() == 2 })
	h.waitState(StateRefreshing)
	if e, err := h.token(); err != nil || e != first {
		t.Fatalf("during the refresh: %v", err)
	}
	release()
	h.waitExchange(2)
	h.waitState(StateReady)
	if e, _ := h.token(); e == first || e.Token.RequestID != "req_2" {
		t.Fatal("the new token is not served")
	}
}

// Failed refreshes back off exponentially (capped at 30 s) while the old
// token serves; it serves until exactly expires_at − 30 s, never after.
func TestDegradedBackoffUntilCutoff(t *testing.T) {
	const l = time.Hour
	ex := newScripted(step{lifetime: l}, step{err: errTransient})
	h := start(t, ex, func(c *Config) { c.WaitForToken = time.Second })
	h.waitExchange(1)
	first, _ := h.token()
	h.advanceTo(t0.Add(RefreshAfter(l)))
	h.waitExchange(2)
	st := h.waitState(StateDegraded)
	if st.LastErrorCode != "overloaded" || st.Failures != 1 || st.LastError != errTransient.Error() {
		t.Fatalf("degraded status = %+v", st)
	}
	// The jitter draws the top of its range: the intervals are the
	// ceilings (1, 2, 4, 8, 16, 30 s less 1 ns), but never under the 5 s
	// ExchangeSpacing.
	want := []time.Duration{ExchangeSpacing, ExchangeSpacing, ExchangeSpacing, 8*time.Second - 1,
		16*time.Second - 1, 30*time.Second - 1, 30*time.Second - 1, 30*time.Second - 1}
	for i, d := range want {
		h.settle(d)
		h.clk.Advance(d)
		h.waitExchange(3 + i)
	}
	times := ex.callTimes()
	for i, d := range want {
		if got := times[i+2].Sub(times[i+1]); got != d {
			t.Errorf("retry %d after %v, want %v", i+1, got, d)
		}
	}
	if e, err := h.token(); err != nil || e != first {
		t.Fatalf("old token not served while degraded: %v", err)
	}
	if st := h.waitState(StateDegraded); st.Failures != uint64(1+len(want)) {
		t.Fatalf("failures = %d", st.Failures)
	}

	// Jump (through one more failed retry) to 1 ns before the cut-off.
	cut := t0.Add(l - 30*time.Second)
	if first.ServeUntil != cut || first.ExpiresAt != t0.Add(l) {
		t.Fatalf("entry: serve until %v, expires %v", first.ServeUntil, first.ExpiresAt)
	}
	h.clk.Advance(cut.Add(-time.Nanosecond).Sub(h.clk.Now()))
	h.waitExchange(3 + len(want))
	h.settle(time.Nanosecond) // Run wakes at the cut-off
	if e, err := h.token(); err != nil || e != first {
		t.Fatalf("token not served 1 ns before the cut-off: %v", err)
	}
	h.clk.Advance(time.Nanosecond)
	st = h.waitState(StateExpired)
	// The next retry (30 s away) cannot land within the 1 s wait: refused at once.
	_, err := h.token()
	ue := asUnavailable(t, err)
	if next := st.NextRefreshAt.Sub(h.clk.Now()); ue.RetryAfter != next || next <= 0 {
		t.Errorf("RetryAfter = %v, want the time to the next retry %v", ue.RetryAfter, next)
	}
	if !st.ExpiresAt.Equal(t0.Add(l)) || st.LastErrorCode != "overloaded" {
		t.Errorf("expired status = %+v", st)
	}
}

// A caller that finds the token expired waits for the scheduled retry
// and gets its token.
func TestExpiredWaiterGetsNextToken(t *testing.T) {
	ex := newScripted(step{lifetime: time.Minute}, step{err: errTransient})
	h := start(t, ex, func(c *Config) { c.WaitForToken = time.Minute })
	h.waitExchange(1)
	h.advanceTo(t0.Add(30 * time.Second)) // refresh point: fails
	h.waitExchange(2)
	h.clk.Advance(16 * time.Second) // past the 45 s cut-off; the retry fires and fails
	h.waitExchange(3)
	h.waitState(StateExpired)
	ex.setScript(step{lifetime: time.Minute})
	got := make(chan error, 1)
	go func() { _, err := h.cred.Token(t.Context()); got <- err }()
	eventually(t, "the caller to wait", func() bool { return h.cred.Status().Waiters == 1 })
	next := h.cred.Status().NextRefreshAt
	h.advanceTo(next)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if h.ex.Calls() != 4 {
		t.Errorf("calls = %d, want 4", h.ex.Calls())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	limited := &provider.Error{Kind: provider.Transient, Op: "exchange", Status: 429, Code: "rate_limited", RetryAfter: 20 * time.Second}
	ex := newScripted(step{err: limited}, step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	// The backoff alone would retry within 1 s; the upstream asked for 20 s.
	if st := h.cred.Status(); !st.NextRefreshAt.Equal(t0.Add(20 * time.Second)) {
		t.Fatalf("next refresh at %v", st.NextRefreshAt.Sub(t0))
	}
	h.settle(20 * time.Second)
	h.clk.Advance(20*time.Second - time.Nanosecond)
	h.settle(time.Nanosecond)
	if ex.Calls() != 1 {
		t.Fatal("retried before the Retry-After")
	}
	h.clk.Advance(time.Nanosecond)
	h.waitExchange(2)
	if got := ex.callTimes()[1]; !got.Equal(t0.Add(20 * time.Second)) {
		t.Fatalf("retried at %v", got.Sub(t0))
	}
	h.waitState(StateReady)
}

func TestStaticNeverRefreshes(t *testing.T) {
	ex := newScripted(step{lifetime: 0})
	h := start(t, ex, nil)
	h.waitExchange(1)
	st := h.waitState(StateReady)
	if !st.ExpiresAt.IsZero() || !st.NextRefreshAt.IsZero() {
		t.Fatalf("static status = %+v", st)
	}
	eventually(t, "Run to idle", func() bool { return h.clk.Pending() == 0 })
	h.clk.Advance(1000 * time.Hour)
	if _, err := h.token(); err != nil {
		t.Fatal(err)
	}
	if ex.Calls() != 1 || h.clk.Pending() != 0 {
		t.Fatalf("calls = %d, timers = %d; want 1 and 0", ex.Calls(), h.clk.Pending())
	}
	if st := h.cred.Status(); st.State != StateReady {
		t.Fatalf("state = %s", st.State)
	}
}
