package tokens

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

func TestInvalidateRateLimited(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	st, did, err := h.cred.Invalidate(context.Background())
	if !did || err != nil || st.Refreshes != 2 || st.State != StateReady {
		t.Fatalf("first invalidate: did=%v err=%v %+v", did, err, st)
	}
	h.clk.Advance(InvalidateInterval - time.Nanosecond)
	if _, did, err := h.cred.Invalidate(context.Background()); did || err != nil {
		t.Fatalf("second invalidate within 30 s: did=%v err=%v", did, err)
	}
	if ex.Calls() != 2 {
		t.Fatalf("calls = %d, want 2", ex.Calls())
	}
	h.clk.Advance(time.Nanosecond)
	if _, did, _ := h.cred.Invalidate(context.Background()); !did || ex.Calls() != 3 {
		t.Fatalf("invalidate after 30 s: did=%v calls=%d", did, ex.Calls())
	}
}

// Invalidate joins an exchange in flight, whatever the rate limit, and
// defers to a failed exchange's backoff (the upstream's Retry-After).
func TestInvalidateJoinsAndRespectsBackoff(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	if _, did, _ := h.cred.Invalidate(context.Background()); !did {
		t.Fatal("first invalidate did not exchange")
	}
	ex.setScript(step{err: &provider.Error{Kind: provider.Transient, Op: "exchange", Status: 429, RetryAfter: 2 * time.Minute}})
	release := ex.hold()
	go func() { _, _ = h.cred.Refresh(context.Background()) }()
	eventually(t, "a refresh in flight", func() bool { return ex.Calls() == 3 })
	h.clk.Advance(time.Nanosecond)
	joined := make(chan bool, 1)
	go func() { _, did, _ := h.cred.Invalidate(context.Background()); joined <- did }()
	eventually(t, "invalidate to join", func() bool {
		h.cred.mu.Lock()
		defer h.cred.mu.Unlock()
		return h.cred.lastInvalidate.Equal(h.clk.Now())
	})
	release()
	if !<-joined || ex.Calls() != 3 {
		t.Fatalf("invalidate did not join the exchange in flight (calls %d)", ex.Calls())
	}
	h.waitExchange(3)
	// The last exchange failed with Retry-After: 120; invalidating within
	// it would defy the upstream.
	h.settle(2 * time.Minute)
	h.clk.Advance(InvalidateInterval)
	if _, did, _ := h.cred.Invalidate(context.Background()); did || ex.Calls() != 3 {
		t.Fatalf("invalidate during a backoff exchanged (calls %d)", ex.Calls())
	}
}

// A token minted under another identity generation is never served.
func TestGenerationBindsTokens(t *testing.T) {
	var gen atomic.Uint64
	gen.Store(1)
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, func(c *Config) { c.Generation = gen.Load })
	h.waitExchange(1)
	e1, err := h.token()
	if err != nil || e1.Generation != 1 {
		t.Fatalf("token: %v", err)
	}
	gen.Store(2)
	if st := h.cred.Status(); st.State != StatePending || !st.ExpiresAt.IsZero() {
		t.Fatalf("status with a stale generation = %+v", st)
	}
	e2, err := h.token() // starts an exchange under generation 2
	if err != nil || e2 == e1 || e2.Generation != 2 || ex.Calls() != 2 {
		t.Fatalf("after re-registration: %v, calls %d", err, ex.Calls())
	}
}

// An exchange that straddles a change of generation is discarded and
// redone under the new one.
func TestGenerationChangeDuringExchange(t *testing.T) {
	var gen atomic.Uint64
	ex := newScripted(step{lifetime: time.Hour})
	release := ex.hold()
	h := start(t, ex, func(c *Config) { c.Generation = gen.Load })
	eventually(t, "the first exchange", func() bool { return ex.Calls() == 1 })
	gen.Store(1)
	release()
	h.waitExchange(2)
	e, err := h.token()
	if err != nil || e.Generation != 1 || e.Token.RequestID != "req_2" {
		t.Fatalf("served %+v, %v; want the token of exchange 2", e, err)
	}
	if st := h.cred.Status(); st.Failures != 0 || st.Refreshes != 1 {
		t.Fatalf("a discarded exchange counted: %+v", st)
	}
}

func TestPurge(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	first, _ := h.token()
	release := ex.hold()
	h.cred.Purge()
	if st := h.cred.Status(); st.State != StatePending || !st.ExpiresAt.IsZero() {
		t.Fatalf("after purge: %+v", st)
	}
	// The purge scheduled an exchange at once, and the old token is gone.
	eventually(t, "the exchange after the purge", func() bool { return ex.Calls() == 2 })
	// A second purge while that exchange is in flight discards its token.
	h.cred.Purge()
	release()
	h.waitExchange(3)
	e, err := h.token()
	if err != nil || e == first || e.Token.RequestID != "req_3" {
		t.Fatalf("served %+v, %v; want the token of exchange 3", e, err)
	}
	if ex.Calls() != 3 {
		t.Fatalf("calls = %d, want 3", ex.Calls())
	}
}

// Purge clears a failed state: the next exchange starts at once.
func TestPurgeClearsFailure(t *testing.T) {
	ex := newScripted(step{err: errPermanent})
	h := start(t, ex, nil)
	h.waitExchange(1)
	h.waitState(StateFailed)
	ex.setScript(step{lifetime: time.Hour})
	h.cred.Purge()
	h.waitExchange(2)
	if st := h.waitState(StateReady); st.LastError != "" {
		t.Fatalf("status = %+v", st)
	}
}

// Stopping Run leaves no goroutine behind, ends an exchange in flight and
// releases its waiters; afterwards a valid token still serves but nothing
// is exchanged.
func TestRunStopLeavesNoGoroutine(t *testing.T) {
	before := runtimeGoroutines()
	ex := newScripted(step{lifetime: time.Hour})
	release := ex.hold()
	defer release()
	h := start(t, ex, nil)
	eventually(t, "the first exchange", func() bool { return ex.Calls() == 1 })
	waited := make(chan error, 1)
	go func() { _, err := h.cred.Token(context.Background()); waited <- err }()
	eventually(t, "a waiter", func() bool { return h.cred.Status().Waiters == 1 })
	h.close()
	asUnavailable(t, <-waited)
	goroutinesSettle(t, before)
	if _, err := h.token(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Token after Run stopped = %v, want unavailable", err)
	}
	if _, err := h.cred.Refresh(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Refresh after Run stopped = %v, want unavailable", err)
	}
	if ex.Calls() != 1 {
		t.Fatalf("calls = %d", ex.Calls())
	}
}

func TestValidTokenServesAfterRunStops(t *testing.T) {
	before := runtimeGoroutines()
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	h.close()
	goroutinesSettle(t, before)
	if _, err := h.token(); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Hour)
	if _, err := h.token(); !errors.Is(err, ErrUnavailable) || ex.Calls() != 1 {
		t.Fatalf("after expiry with Run stopped: %v, calls %d", err, ex.Calls())
	}
}

// OnChange sees every state, in order, ending with the true one.
func TestOnChange(t *testing.T) {
	var mu sync.Mutex
	var states []State
	ex := newScripted(step{lifetime: time.Minute}, step{err: errTransient})
	h := start(t, ex, func(c *Config) {
		c.OnChange = func(s Status) { mu.Lock(); states = append(states, s.State); mu.Unlock() }
	})
	last := func() State {
		mu.Lock()
		defer mu.Unlock()
		if len(states) == 0 {
			return ""
		}
		return states[len(states)-1]
	}
	h.waitExchange(1)
	eventually(t, "ready", func() bool { return last() == StateReady })
	h.advanceTo(t0.Add(30 * time.Second))
	h.waitExchange(2)
	eventually(t, "degraded", func() bool { return last() == StateDegraded })
	h.clk.Advance(16 * time.Second) // one retry fails; the 45 s cut-off passes
	h.waitExchange(3)
	eventually(t, "expired", func() bool { return last() == StateExpired })
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(states); i++ {
		if states[i] == states[i-1] {
			t.Errorf("state %s announced twice in a row: %v", states[i], states)
		}
	}
}
