package tokens

import (
	"context"
	"errors"
	"runtime"
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

// scripted is an Exchanger that answers from a script, counts calls and
// can hold exchanges until released.
type scripted struct {
	mu      sync.Mutex
	script  []step
	calls   int
	active  int
	maxSeen int
	gate    chan struct{} // when non-nil, exchanges wait for it to close
	called  chan int
}

func newScripted(steps ...step) *scripted {
	return &scripted{script: steps, called: make(chan int, 1024)}
}

func (s *scripted) Exchange(ctx context.Context, _ provider.Subject) (provider.Token, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
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
		s.called <- n
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
	return provider.Token{Value: secret.New("tok-" + string(rune('a'+n%26))), Lifetime: st.lifetime, RequestID: "req_1"}, nil
}

func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// setScript replaces the rest of the script.
func (s *scripted) setScript(steps ...step) {
	s.mu.Lock()
	s.script = steps
	s.mu.Unlock()
}

type harness struct {
	t    *testing.T
	clk  *clock.Fake
	ex   *scripted
	cred *Credential
	stop context.CancelFunc
	done chan struct{}
	seen int
}

func start(t *testing.T, ex *scripted, mod func(*Config)) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
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

// waitExchange waits until the n-th exchange has returned.
func (h *harness) waitExchange(n int) {
	h.t.Helper()
	for h.seen < n {
		select {
		case <-h.ex.called:
			h.seen++
		case <-time.After(10 * time.Second):
			h.t.Fatalf("exchange %d did not happen (saw %d)", n, h.seen)
		}
	}
	// The exchanger has returned; wait until the credential took the result.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.cred.mu.Lock()
		idle := h.cred.inflight == nil
		h.cred.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	h.t.Fatal("the credential did not take the exchange's result")
}

// settle waits until the scheduler has armed its timer for delay d from now.
func (h *harness) settle(d time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got, ok := h.clk.NextTimer(); ok && got == d {
			return
		}
		time.Sleep(time.Millisecond)
	}
	got, ok := h.clk.NextTimer()
	h.t.Fatalf("next timer = %v (armed %v), want %v", got, ok, d)
}

func goroutinesSettle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if runtime.NumGoroutine() <= want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("goroutines: %d, want <= %d", runtime.NumGoroutine(), want)
}

var errTransient = &provider.Error{Kind: provider.Transient, Op: "exchange", Status: 503, Code: "overloaded"}
var errPermanent = &provider.Error{Kind: provider.Permanent, Op: "exchange", Status: 400, Code: "invalid_grant", Detail: `{"error":"invalid_grant"}`}

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
