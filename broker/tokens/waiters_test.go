package tokens

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// 1,000 callers on a cold credential share one exchange and all get its token.
func TestColdStampedeIsOneExchange(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	release := ex.hold()
	h := start(t, ex, nil)
	const n = 1000
	var wg sync.WaitGroup
	got := make(chan *Entry, n)
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			e, err := h.cred.Token(context.Background())
			if err != nil {
				errs <- err
				return
			}
			got <- e
		})
	}
	eventually(t, "1,000 waiters", func() bool { return h.cred.Status().Waiters == n })
	if st := h.cred.Status(); st.State != StatePending {
		t.Errorf("state while waiting = %s", st.State)
	}
	release()
	wg.Wait()
	close(errs)
	close(got)
	for err := range errs {
		t.Fatal(err)
	}
	var first *Entry
	for e := range got {
		if first == nil {
			first = e
		}
		if e != first || e.Token.Value.IsZero() {
			t.Fatal("callers got different or empty tokens")
		}
	}
	if ex.Calls() != 1 || ex.maxSeen != 1 {
		t.Fatalf("exchanges = %d (max concurrent %d), want exactly 1", ex.Calls(), ex.maxSeen)
	}
	if st := h.cred.Status(); st.Waiters != 0 || st.Refreshes != 1 {
		t.Fatalf("status after = %+v", st)
	}
}

// A caller waits WaitForToken (on the injected clock) and then gets
// ErrUnavailable; a caller whose context ends stops waiting at once.
func TestWaitBoundedByWaitForTokenAndContext(t *testing.T) {
	ex := newScripted(step{lifetime: time.Hour})
	release := ex.hold()
	h := start(t, ex, nil)
	defer release()
	eventually(t, "the first exchange", func() bool { return ex.Calls() == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	canceled := make(chan error, 1)
	go func() { _, err := h.cred.Token(ctx); canceled <- err }()
	timedOut := make(chan error, 1)
	go func() { _, err := h.cred.Token(context.Background()); timedOut <- err }()
	eventually(t, "2 waiters", func() bool { return h.cred.Status().Waiters == 2 })

	cancel()
	if ue := asUnavailable(t, <-canceled); ue.RetryAfter != time.Second {
		t.Errorf("RetryAfter with an exchange in flight = %v, want 1 s", ue.RetryAfter)
	}
	h.settle(5 * time.Second)
	h.clk.Advance(5*time.Second - time.Nanosecond)
	select {
	case err := <-timedOut:
		t.Fatalf("returned before WaitForToken: %v", err)
	default:
	}
	h.clk.Advance(time.Nanosecond)
	ue := asUnavailable(t, <-timedOut)
	if ue.Credential != "anthropic" || ue.Reason != "no valid token within the wait" {
		t.Errorf("error = %+v", ue)
	}
	eventually(t, "no waiters", func() bool { return h.cred.Status().Waiters == 0 })
	if ex.Calls() != 1 {
		t.Errorf("calls = %d, want 1", ex.Calls())
	}
}

// A permanent refusal: failed with the code kept, callers fail fast, the
// slow backoff is capped at 5 min, and Refresh recovers.
func TestPermanentFailure(t *testing.T) {
	ex := newScripted(step{err: errPermanent})
	h := start(t, ex, nil)
	h.waitExchange(1)
	st := h.waitState(StateFailed)
	if st.LastErrorCode != "invalid_grant" || st.LastError != errPermanent.Error() || st.Failures != 1 {
		t.Fatalf("status = %+v, want failed with invalid_grant", st)
	}
	_, err := h.token() // fails without waiting
	var fe *FailedError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFailed) || errors.Is(err, ErrUnavailable) ||
		fe.Code != "invalid_grant" || fe.Detail != errPermanent.Error() {
		t.Fatalf("Token() = %v, want *FailedError", err)
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i, d := range want {
		h.settle(d - 1)
		h.clk.Advance(d - 1)
		h.waitExchange(2 + i)
	}
	times := ex.callTimes()
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d > PermanentCap || d != want[i-1]-1 {
			t.Errorf("slow retry %d after %v, want %v", i, d, want[i-1]-1)
		}
	}
	ex.setScript(step{lifetime: time.Hour})
	st, err = h.cred.Refresh(context.Background())
	if err != nil || st.State != StateReady || st.LastError != "" || st.LastErrorCode != "" {
		t.Fatalf("Refresh() = %+v, %v; want ready", st, err)
	}
	if _, err := h.token(); err != nil {
		t.Fatal(err)
	}
}

// A failed credential with a refresh in flight makes callers wait for it.
func TestFailedWaitsForRefreshInFlight(t *testing.T) {
	ex := newScripted(step{err: errPermanent})
	h := start(t, ex, nil)
	h.waitExchange(1)
	h.waitState(StateFailed)
	ex.setScript(step{lifetime: time.Hour})
	release := ex.hold()
	refreshed := make(chan error, 1)
	go func() { _, err := h.cred.Refresh(context.Background()); refreshed <- err }()
	eventually(t, "the refresh to start", func() bool { return ex.Calls() == 2 })
	got := make(chan error, 1)
	go func() { _, err := h.cred.Token(context.Background()); got <- err }()
	eventually(t, "the caller to wait", func() bool { return h.cred.Status().Waiters == 1 })
	release()
	if err := <-got; err != nil {
		t.Fatalf("Token() = %v, want the refreshed token", err)
	}
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
}

// A permanent refusal while the old token is valid fails closed (DESIGN
// §5): the credential is failed at once, the token is dropped and never
// served again, retries follow the slow schedule (30 s, 1, 2, 4 min, then
// 5 min), and a later success serves again.
func TestPermanentWhileValidFailsClosed(t *testing.T) {
	const l = time.Hour
	ex := newScripted(step{lifetime: l}, step{err: errPermanent})
	h := start(t, ex, nil)
	h.waitExchange(1)
	first, _ := h.token()
	h.advanceTo(t0.Add(RefreshAfter(l))) // 45 min
	h.waitExchange(2)
	st := h.waitState(StateFailed)
	if st.LastErrorCode != "invalid_grant" || !st.ExpiresAt.IsZero() {
		t.Fatalf("status = %+v, want failed with no expiry", st)
	}
	if e, err := h.token(); !errors.Is(err, ErrFailed) || e != nil {
		t.Fatalf("after a permanent refusal: token %v, err %v; want ErrFailed", e != nil, err)
	}
	if first.ServableAt(h.clk.Now()) != true {
		t.Fatal("the test meant the first token to be still within its lifetime")
	}
	for i, d := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		h.advanceTo(ex.callTimes()[i+1].Add(d - 1))
		h.waitExchange(3 + i)
		if _, err := h.token(); !errors.Is(err, ErrFailed) {
			t.Fatalf("after slow retry %d: %v, want ErrFailed", i+1, err)
		}
	}
	ex.setScript(step{lifetime: l})
	h.advanceTo(h.cred.Status().NextRefreshAt)
	h.waitExchange(9)
	h.waitState(StateReady)
	if e, err := h.token(); err != nil || e == first {
		t.Fatalf("after recovery: %v (old token: %v)", err, e == first)
	}
}

// A caller whose wait ends before the next exchange may start fails fast,
// and the reason says why: a failing refresh names its error; a token
// that outlived its serving window while the exchange spacing holds the
// next one back is not a failure.
func TestFailFastReason(t *testing.T) {
	cases := []struct {
		name       string
		step       step
		at         time.Duration // after the first exchange, when the caller comes
		reason     string
		retryAfter time.Duration
	}{
		{"backing off after a failure", step{err: errTransient}, 0,
			"refresh failing: " + errTransient.Error(), 5 * time.Second},
		{"a 4 s token past its cut-off, the spacing holding", step{lifetime: 4 * time.Second}, 3500 * time.Millisecond,
			"next exchange not before 2026-11-28T12:00:05Z", 1500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, newScripted(c.step), func(cfg *Config) { cfg.WaitForToken = time.Second })
			h.waitExchange(1)
			eventually(t, "Run to wait", func() bool { _, ok := h.clk.NextTimer(); return ok })
			h.clk.Advance(c.at)
			_, err := h.token()
			ue := asUnavailable(t, err)
			if ue.Reason != c.reason || ue.RetryAfter != c.retryAfter {
				t.Errorf("reason %q, retry after %v; want %q, %v", ue.Reason, ue.RetryAfter, c.reason, c.retryAfter)
			}
		})
	}
}
