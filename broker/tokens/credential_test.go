package tokens

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

func TestRefreshPoints(t *testing.T) {
	for _, l := range []time.Duration{3600 * time.Second, 900 * time.Second, 300 * time.Second, 60 * time.Second} {
		t.Run(l.String(), func(t *testing.T) {
			h := start(t, newScripted(step{lifetime: l}), nil)
			h.waitExchange(1)
			refresh := RefreshAfter(l)
			h.settle(refresh)
			// One tick early: no exchange yet.
			h.clk.Advance(refresh - time.Millisecond)
			if got := h.ex.Calls(); got != 1 {
				t.Fatalf("exchanged %d times before the refresh point", got)
			}
			h.settle(time.Millisecond)
			h.clk.Advance(time.Millisecond)
			h.waitExchange(2)
			st := h.cred.Status()
			if st.Refreshes != 2 || !st.LastRefreshAt.Equal(t0.Add(refresh)) {
				t.Errorf("status after refresh: %+v", st)
			}
			if want := t0.Add(refresh).Add(l); !st.ExpiresAt.Equal(want) {
				t.Errorf("expires_at = %v, want %v", st.ExpiresAt, want)
			}
		})
	}
}

func TestOldTokenServesWhileRefreshFailsUntilCutoff(t *testing.T) {
	const l = time.Hour
	ex := newScripted(step{lifetime: l})
	h := start(t, ex, nil)
	h.waitExchange(1)
	first, err := h.cred.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ex.setScript(step{err: errTransient})
	h.settle(RefreshAfter(l))
	h.clk.Advance(RefreshAfter(l))
	h.waitExchange(2)
	if st := h.cred.Status(); st.State != StateDegraded || st.LastErrorCode != "overloaded" {
		t.Fatalf("state = %+v, want degraded with the error kept", st)
	}
	// Backoff intervals grow (rand returns the ceiling - 1) and are capped at 30 s.
	want := []time.Duration{time.Second - 1, 2*time.Second - 1, 4*time.Second - 1, 8*time.Second - 1, 16*time.Second - 1, 30*time.Second - 1, 30*time.Second - 1}
	for i, d := range want {
		h.settle(d)
		h.clk.Advance(d)
		h.waitExchange(3 + i)
	}
	e, err := h.cred.Token(context.Background())
	if err != nil || e != first {
		t.Fatalf("old token not served while degraded: %v", err)
	}
	// Jump to one tick before the cut-off: still served. At the cut-off: never.
	cut := t0.Add(ServeFor(l))
	h.clk.Advance(cut.Sub(h.clk.Now()) - time.Nanosecond)
	if _, err := h.cred.Token(context.Background()); err != nil {
		t.Fatalf("token not served just before the cut-off: %v", err)
	}
	h.stop()
	<-h.done
	h.clk.Advance(time.Nanosecond)
	_, err = h.cred.Token(context.Background())
	var ue *UnavailableError
	if !errors.As(err, &ue) || !isUnavailable(err) || ue.RetryAfter < time.Second {
		t.Fatalf("after the cut-off: %v, want *UnavailableError with RetryAfter", err)
	}
	if st := h.cred.Status(); st.State != StateExpired {
		t.Errorf("state after cut-off = %s, want expired", st.State)
	}
}

func TestColdStampedeIsOneExchange(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	ex.gate = make(chan struct{})
	h := start(t, ex, nil)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := h.cred.Token(context.Background())
			if err == nil && e.Token.Value.IsZero() {
				err = errors.New("empty token")
			}
			errs <- err
		}()
	}
	// Let the waiters pile up on the held exchange, then release it.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(ex.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ex.Calls() != 1 || ex.maxSeen != 1 {
		t.Fatalf("exchanges = %d (max concurrent %d), want exactly 1", ex.Calls(), ex.maxSeen)
	}
}

func TestPermanentFailure(t *testing.T) {
	ex := newScripted(step{err: errPermanent})
	h := start(t, ex, nil)
	h.waitExchange(1)
	st := h.cred.Status()
	if st.State != StateFailed || st.LastErrorCode != "invalid_grant" || st.Failures != 1 {
		t.Fatalf("status = %+v, want failed with invalid_grant", st)
	}
	began := time.Now()
	_, err := h.cred.Token(context.Background())
	var fe *FailedError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFailed) || fe.Code != "invalid_grant" {
		t.Fatalf("Token() = %v, want *FailedError", err)
	}
	if time.Since(began) > time.Second {
		t.Errorf("Token() waited %v on a failed credential", time.Since(began))
	}
	// The slow backoff: 30 s, 60 s, … capped at 5 min.
	for i, d := range []time.Duration{PermanentBase - 1, 2*PermanentBase - 1, 4*PermanentBase - 1, 8*PermanentBase - 1, PermanentCap - 1, PermanentCap - 1} {
		h.settle(d)
		h.clk.Advance(d)
		h.waitExchange(2 + i)
	}
	ex.setScript(step{lifetime: time.Hour})
	st, err = h.cred.Refresh(context.Background())
	if err != nil || st.State != StateReady || st.LastError != "" {
		t.Fatalf("Refresh() = %+v, %v; want ready", st, err)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	limited := &provider.Error{Kind: provider.Transient, Op: "exchange", Status: 429, RetryAfter: 20 * time.Second}
	h := start(t, newScripted(step{err: limited}, step{lifetime: time.Hour}), nil)
	h.waitExchange(1)
	h.settle(20 * time.Second)
	h.clk.Advance(20 * time.Second)
	h.waitExchange(2)
	if st := h.cred.Status(); st.State != StateReady {
		t.Fatalf("state = %s", st.State)
	}
}

func TestInvalidateRateLimited(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, nil)
	h.waitExchange(1)
	if _, did, err := h.cred.Invalidate(context.Background()); !did || err != nil {
		t.Fatalf("first invalidate: did=%v err=%v", did, err)
	}
	h.waitExchange(2)
	h.clk.Advance(InvalidateInterval - time.Second)
	if _, did, _ := h.cred.Invalidate(context.Background()); did {
		t.Fatal("second invalidate within 30 s re-exchanged")
	}
	if ex.Calls() != 2 {
		t.Fatalf("calls = %d, want 2", ex.Calls())
	}
	h.clk.Advance(time.Second)
	if _, did, _ := h.cred.Invalidate(context.Background()); !did {
		t.Fatal("invalidate after 30 s did not re-exchange")
	}
}

func TestGenerationBindsTokens(t *testing.T) {
	var mu sync.Mutex
	gen := uint64(1)
	getGen := func() uint64 { mu.Lock(); defer mu.Unlock(); return gen }
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, func(c *Config) { c.Generation = getGen })
	h.waitExchange(1)
	e1, err := h.cred.Token(context.Background())
	if err != nil || e1.Generation != 1 {
		t.Fatalf("token: %v gen %d", err, e1.Generation)
	}
	mu.Lock()
	gen = 2
	mu.Unlock()
	// The generation-1 token must never serve now; the next one is minted under 2.
	e2, err := h.cred.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e2 == e1 || e2.Generation != 2 {
		t.Fatalf("served a token of generation %d after re-registration", e2.Generation)
	}
	h.cred.Purge()
	if st := h.cred.Status(); st.State == StateReady && h.cred.entry.Load() != nil {
		t.Fatalf("purge left a token: %+v", st)
	}
}

func TestStaticNeverRefreshes(t *testing.T) {
	ex := newScripted(step{lifetime: 0})
	h := start(t, ex, nil)
	h.waitExchange(1)
	h.clk.Advance(1000 * time.Hour)
	if _, err := h.cred.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ex.Calls() != 1 || h.clk.Pending() != 0 {
		t.Fatalf("calls=%d pending timers=%d, want 1 and 0", ex.Calls(), h.clk.Pending())
	}
	if st := h.cred.Status(); st.State != StateReady || !st.ExpiresAt.IsZero() {
		t.Fatalf("status = %+v", st)
	}
}

func TestRunStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	ex := newScripted(step{lifetime: time.Hour})
	ex.gate = make(chan struct{}) // an exchange is in flight when Run stops
	h := start(t, ex, nil)
	go func() { _, _ = h.cred.Token(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	h.close()
	goroutinesSettle(t, before)
	if _, err := h.cred.Token(context.Background()); !isUnavailable(err) {
		t.Fatalf("Token after Run stopped = %v, want unavailable", err)
	}
}

func TestOnChangeAndSet(t *testing.T) {
	var mu sync.Mutex
	var states []State
	ex := newScripted(step{lifetime: time.Hour})
	h := start(t, ex, func(c *Config) {
		c.OnChange = func(s Status) { mu.Lock(); states = append(states, s.State); mu.Unlock() }
	})
	h.waitExchange(1)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(states)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	if len(states) == 0 || states[len(states)-1] != StateReady {
		t.Errorf("OnChange states = %v, want to end ready", states)
	}
	mu.Unlock()
	s := NewSet(h.cred, New(Config{Name: "aaa", Exchanger: ex}))
	if c, ok := s.Get("anthropic"); !ok || c != h.cred {
		t.Fatal("Set.Get failed")
	}
	if all := s.All(); len(all) != 2 || all[0].Name() != "aaa" {
		t.Fatalf("Set.All not sorted: %v", all)
	}
	if _, ok := s.Get("nope"); ok {
		t.Fatal("Set.Get found a missing name")
	}
}
