package tokens

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// step is one scripted exchange result.
type step struct {
	lifetime time.Duration
	err      error
}

// scripted is an Exchanger that answers from a script (the last step
// repeats), records when each call came, counts concurrent calls and can
// hold calls until released.
type scripted struct {
	clk     clock.Clock
	mu      sync.Mutex
	script  []step
	times   []time.Time
	active  int
	maxSeen int
	gate    chan struct{} // when non-nil, calls wait for it to close
}

func newScripted(steps ...step) *scripted {
	return &scripted{script: steps}
}

func (s *scripted) Exchange(ctx context.Context, _ provider.Subject) (provider.Token, error) {
	s.mu.Lock()
	if s.clk != nil {
		s.times = append(s.times, s.clk.Now())
	}
	n := len(s.times)
	s.active++
	s.maxSeen = max(s.maxSeen, s.active)
	gate := s.gate
	st := step{lifetime: time.Hour}
	if len(s.script) > 0 {
		st = s.script[0]
		if len(s.script) > 1 {
			s.script = s.script[1:]
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return provider.Token{}, ctx.Err()
		}
	}
	if st.err != nil {
		return provider.Token{}, st.err
	}
	return provider.Token{Value: secret.New("tok-secret-" + strconv.Itoa(n)), Lifetime: st.lifetime, RequestID: "req_" + strconv.Itoa(n)}, nil
}

// Calls returns how many exchanges were asked for.
func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

// callTimes returns when each exchange was asked for.
func (s *scripted) callTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// setScript replaces the rest of the script.
func (s *scripted) setScript(steps ...step) {
	s.mu.Lock()
	s.script = steps
	s.mu.Unlock()
}

// hold makes the next calls wait until the returned func is called.
func (s *scripted) hold() (release func()) {
	g := make(chan struct{})
	s.mu.Lock()
	s.gate = g
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(g)
	}
}

type harness struct {
	t    *testing.T
	clk  *clock.Fake
	ex   *scripted
	cred *Cache
	stop context.CancelFunc
	done chan struct{}
}

// start runs a credential on a fake clock at t0 whose jitter always draws
// the top of its range (so backoff intervals are exact).
func start(t *testing.T, ex *scripted, mod func(*Config)) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
	ex.clk = clk
	cfg := Config{Name: "anthropic", Provider: "anthropic", Exchanger: ex, Clock: clk,
		Rand: func(n int64) int64 { return n - 1 }, WaitForToken: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	h := &harness{t: t, clk: clk, ex: ex, cred: New(cfg), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.cred.Run(ctx); close(h.done) }()
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	h.stop()
	<-h.done
}

// eventually polls cond in real time (other goroutines making progress,
// never fake time passing) and fails the test after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// waitExchange waits until the credential has taken the outcome of its
// n-th exchange (successful, failed or discarded).
func (h *harness) waitExchange(n int) {
	h.t.Helper()
	eventually(h.t, "exchange "+strconv.Itoa(n), func() bool {
		h.cred.mu.Lock()
		defer h.cred.mu.Unlock()
		return h.ex.Calls() >= n && h.cred.refreshes+h.cred.failures+h.cred.discarded >= uint64(n)
	})
}

// settle waits until Run has armed its timer for d from now.
func (h *harness) settle(d time.Duration) {
	h.t.Helper()
	eventually(h.t, "a timer of "+d.String(), func() bool {
		got, ok := h.clk.NextTimer()
		return ok && got == d
	})
}

// advanceTo settles on the timer that fires at at and advances to it.
func (h *harness) advanceTo(at time.Time) {
	h.t.Helper()
	d := at.Sub(h.clk.Now())
	h.settle(d)
	h.clk.Advance(d)
}

// token calls Token with a real-time guard: a fake clock never ends a wait
// by itself, so a call that should not wait must return on its own.
func (h *harness) token() (*Entry, error) {
	h.t.Helper()
	type result struct {
		e   *Entry
		err error
	}
	ch := make(chan result, 1)
	go func() { e, err := h.cred.Token(context.Background()); ch <- result{e, err} }()
	select {
	case r := <-ch:
		return r.e, r.err
	case <-time.After(5 * time.Second):
		h.t.Fatal("Token waited when it should not have")
		return nil, nil
	}
}

// waitState waits until the credential's state is want.
func (h *harness) waitState(want State) Status {
	h.t.Helper()
	var st Status
	eventually(h.t, "state "+string(want), func() bool { st = h.cred.Status(); return st.State == want })
	return st
}

func goroutinesSettle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

var (
	errTransient = &provider.Error{Kind: provider.Transient, Op: "exchange", Status: 503, Code: "overloaded"}
	errPermanent = &provider.Error{Kind: provider.Permanent, Op: "exchange", Status: 400, Code: "invalid_grant", Detail: `{"error":"invalid_grant"}`}
)

func asUnavailable(t *testing.T, err error) *UnavailableError {
	t.Helper()
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want *UnavailableError", err)
	}
	return ue
}

func runtimeGoroutines() int { return runtime.NumGoroutine() }
