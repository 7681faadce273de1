package forward

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// TestLeaseIsRenewedBeforeItExpires runs the real renew loop on real
// timers. The exact point (two thirds) is TestRenewDelay's; here each
// renewal must land after half the TTL and before the lease would expire,
// with bounds loose enough for a loaded machine.
func TestLeaseIsRenewedBeforeItExpires(t *testing.T) {
	const ttl = 2 * time.Second
	h := newHarness(t, harnessOpts{leaseTTL: ttl})
	renewals := func() (created, renewed []time.Time) {
		h.broker.mu.Lock()
		defer h.broker.mu.Unlock()
		return append([]time.Time(nil), h.broker.createdAt...), append([]time.Time(nil), h.broker.renewedAt...)
	}
	testharness.WaitFor(t, 15*time.Second, "two renewals", func() bool { _, r := renewals(); return len(r) >= 2 })
	created, renewed := renewals()
	if len(created) != 1 {
		t.Fatalf("%d creates; renewals should keep the first lease", len(created))
	}
	for i, prev := range []time.Time{created[0], renewed[0]} {
		if d := renewed[i].Sub(prev); d < ttl/2 || d >= ttl {
			t.Errorf("renewal %d came %v after the previous grant of a %v lease; want in [%v, %v)", i+1, d, ttl, ttl/2, ttl)
		}
	}
	if resp, _ := h.do("GET", "/v1/models", nil, nil); resp.StatusCode != 200 {
		t.Errorf("status %d with a renewed lease", resp.StatusCode)
	}
}

func TestRenewalAfterBrokerRestartReacquires(t *testing.T) {
	h := newHarness(t, harnessOpts{leaseTTL: 600 * time.Millisecond})
	h.broker.forget()
	testharness.WaitFor(t, 10*time.Second, "a new lease", func() bool { return h.broker.creates.Load() == 2 })
	if resp, _ := h.do("GET", "/v1/models", nil, nil); resp.StatusCode != 200 {
		t.Errorf("status %d with the new lease", resp.StatusCode)
	}
	if n := h.broker.headerCalls.Load(); n != 1 {
		t.Errorf("%d header calls; the new lease should have been ready before the request", n)
	}
}

func TestRenewalFindsTheLeaseRevoked(t *testing.T) {
	h := newHarness(t, harnessOpts{leaseTTL: 600 * time.Millisecond})
	h.broker.revokeAll()
	testharness.WaitFor(t, 10*time.Second, "the revocation to be noticed", func() bool { return h.fwd.leases.revoked.Load() })
	resp, body := h.do("GET", "/v1/models", nil, nil)
	if _, msg := anthropicError(t, body); resp.StatusCode != 503 || msg != "lease revoked by the broker; restart the forwarder" {
		t.Errorf("status %d message %q", resp.StatusCode, msg)
	}
	if n := h.broker.headerCalls.Load(); n != 0 {
		t.Errorf("%d header calls after the revocation", n)
	}
}

func TestRequestsBeforeTheFirstLeaseWaitForIt(t *testing.T) {
	h := newHarness(t, harnessOpts{noStart: true, brokerDown: true, maxWait: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- h.fwd.Start(ctx) }()
	go func() {
		time.Sleep(300 * time.Millisecond)
		h.broker.up()
	}()
	resp, body := h.do("GET", "/v1/models", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if err := <-started; err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func TestStartFailsAtOnceOnPermanentRefusal(t *testing.T) {
	b := newStubBroker(t, "api.anthropic.com", false)
	u, _ := url.Parse("https://api.anthropic.com")
	f, err := New(Config{Client: client.New(b.sock), Credential: "nope", Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = f.Start(ctx)
	if err == nil || !client.IsCode(err, api.CodeUnknownCredential) || !strings.Contains(err.Error(), `create lease for credential "nope"`) {
		t.Errorf("Start: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("Start retried a permanent refusal until its context ended")
	}
}

func TestCloseRevokesTheLeaseAndGoroutinesReturnToBaseline(t *testing.T) {
	base := runtime.NumGoroutine()
	h := newHarness(t, harnessOpts{leaseTTL: 300 * time.Millisecond})
	for range 5 {
		h.do("POST", "/v1/messages", strings.NewReader(`{}`), nil)
	}
	// A stream abandoned midway must not leave anything behind either.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/v1/sse", nil)
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-h.up.sseStartedCh
	cancel()
	resp.Body.Close()
	<-h.up.sseCanceled
	time.Sleep(250 * time.Millisecond) // a renewal in flight
	h.close()
	if n := h.broker.revokes.Load(); n != 1 {
		t.Errorf("%d revocations on Close, want 1", n)
	}
	if s, err := h.fwd.leases.status(); s != nil || !errors.Is(err, errClosed) {
		t.Errorf("after Close: lease %v, %v", s, err)
	}
	h.broker.down()
	h.up.srv.Close()
	testharness.WaitFor(t, 10*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= base })
}
