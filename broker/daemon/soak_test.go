package daemon

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// Soak parameters: 64 forwarders' worth of callers, 4-second tokens
// (refreshed every 2 s), a token endpoint failing a fifth of exchanges.
const (
	soakCallers   = 64
	soakLifetime  = 8 * time.Second // refreshed every 5 s (the exchange spacing)
	soakFaultRate = 0.2
	// soakSlack excuses a failure this close to a token's receipt or
	// cut-off: the fake's clock and the broker's differ by a round trip.
	soakSlack = 250 * time.Millisecond
)

// soakDuration reads AWF_SOAK / AWF_SOAK_DURATION; zero means skip.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("AWF_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("AWF_SOAK_DURATION=%q: want a positive duration", v)
		}
		return d
	}
	if os.Getenv("AWF_SOAK") != "" {
		return 60 * time.Second
	}
	return 0
}

// usage is what must come back to where it started.
type usage struct {
	goroutines, fds int
	heap            uint64
}

func measureUsage(t *testing.T) usage {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return usage{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapInuse}
}

// TestSoak (make soak; AWF_SOAK=1 or AWF_SOAK_DURATION=30s): 64 callers,
// each with its own client and lease as a forwarder has, ask for headers
// in a loop while tokens rotate every 2 s and 20 % of exchanges fail.
// Not one grant fails while some token is valid; at the end goroutines,
// fds and heap are back where they started.
func TestSoak(t *testing.T) {
	dur := soakDuration(t)
	if dur == 0 {
		t.Skip("set AWF_SOAK=1 (or AWF_SOAK_DURATION) to run the load test")
	}
	b := startBroker(t, brokerOpts{lifetime: soakLifetime, level: hclog.Info})
	b.dev.Anthropic.FailRate(fake.Fault500, soakFaultRate)
	ctx := context.Background()
	url := "http://" + apiHost(b) + "/v1/messages"
	base := measureUsage(t)

	type failure struct {
		at  time.Time
		err error
	}
	var (
		mu       sync.Mutex
		failures []failure
		grants   int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range soakCallers {
		c := client.New(b.sock)
		l, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "soak"})
		if err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			req := &api.HeadersRequest{Method: "POST", URL: url, Headers: map[string]string{"content-type": "application/json"}}
			n := 0
			for {
				select {
				case <-stop:
					mu.Lock()
					grants += n
					mu.Unlock()
					if _, err := c.RevokeLease(ctx, l.ID); err != nil {
						t.Errorf("revoke: %v", err)
					}
					return
				default:
				}
				if _, err := c.Headers(ctx, l.ID, l.Secret, req); err != nil {
					mu.Lock()
					failures = append(failures, failure{time.Now(), err})
					mu.Unlock()
				} else {
					n++
				}
				time.Sleep(time.Millisecond) // a forwarder waits on its upstream too
			}
		}()
	}
	mid := time.NewTimer(dur / 4)
	<-mid.C
	loaded := measureUsage(t)
	time.Sleep(dur - dur/4) // the load runs for dur: this is the test's length, not a synchronisation
	end := measureUsage(t)
	close(stop)
	wg.Wait()

	margin := func(l time.Duration) time.Duration { return min(30*time.Second, l/4) + soakSlack }
	excused := 0
	for _, f := range failures {
		// Valid at f.at means: minted at least soakSlack earlier, and
		// not within soakSlack of its cut-off.
		if b.dev.Anthropic.ValidAt(f.at.Add(-soakSlack), margin) {
			t.Errorf("grant failed at %s while a token was valid: %v", f.at.Format("15:04:05.000"), f.err)
			continue
		}
		var ce *client.Error
		if !errors.As(f.err, &ce) || ce.Code != api.CodeCredentialUnavailable {
			t.Errorf("grant failed with %v, want only credential_unavailable when no token is valid", f.err)
		}
		excused++
	}
	exchanges, faults := b.dev.Anthropic.Exchanges(), b.dev.Anthropic.RateFaults()
	t.Logf("%v: %d grants, %d failed while no token was valid, %d exchanges, %d injected faults; usage start %+v, under load %+v, end of load %+v",
		dur, grants, excused, exchanges, faults, base, loaded, end)
	if want := int(dur / soakLifetime); exchanges < want {
		t.Errorf("%d exchanges in %v, want ≥ %d (a refresh every 5 s)", exchanges, dur, want)
	}
	if dur >= 30*time.Second && faults == 0 {
		t.Errorf("no fault was injected in %d exchanges", exchanges)
	}
	if grants < soakCallers*int(dur/time.Second) {
		t.Errorf("only %d grants in %v", grants, dur)
	}
	// Heap under load must not grow between a quarter and the end.
	if end.heap > loaded.heap*3/2+8<<20 {
		t.Errorf("heap grew under steady load: %d → %d bytes", loaded.heap, end.heap)
	}

	// Back to the start: poll, since closed connections end their
	// goroutines asynchronously.
	var after usage
	if !testharness.Eventually(15*time.Second, func() bool {
		after = measureUsage(t)
		return after.goroutines <= base.goroutines+5 && after.fds <= base.fds+5
	}) {
		buf := make([]byte, 1<<20)
		t.Fatalf("not back to the start: %+v, started at %+v\n%s", after, base, buf[:runtime.Stack(buf, true)])
	}
	if after.heap > base.heap*3/2+8<<20 {
		t.Errorf("heap not back: %d bytes, started at %d", after.heap, base.heap)
	}
	leases, err := b.client.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if l.State != api.LeaseRevoked {
			t.Errorf("lease %s left %s", l.ID, l.State)
		}
	}
}
