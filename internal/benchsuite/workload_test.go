package benchsuite

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/internal/testharness"
)

func TestWorkloadShapes(t *testing.T) {
	body := workloadRequest()
	if len(body) != WorkloadBody {
		t.Errorf("request body %d bytes, want %d", len(body), WorkloadBody)
	}
	var m struct {
		Model    string
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Model == "" || len(m.Messages) != 1 {
		t.Errorf("request body is not a Messages call: %v", err)
	}
	total := 0
	for i := range WorkloadEvents {
		ev := workloadEvent(i)
		if len(ev) < 80 || len(ev) > 130 || !strings.HasSuffix(string(ev), "\n\n") {
			t.Errorf("event %d: %d bytes %q, want a ~100-byte SSE event", i, len(ev), ev)
		}
		total += len(ev)
	}
	if got := workloadAnswerLen(WorkloadEvents); got != total {
		t.Errorf("answer length %d, want %d", got, total)
	}
}

func TestStreamPosterAgainstTheSSEUpstream(t *testing.T) {
	var srv servers
	defer srv.close()
	up, err := srv.sseUpstream(WorkloadEvents)
	if err != nil {
		t.Fatal(err)
	}
	p := newStreamPoster(WorkloadEvents)
	defer p.hc.CloseIdleConnections()
	start := time.Now()
	ttfb, err := p.post(context.Background(), up, true)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("direct call: %v", err)
	}
	if gaps := (WorkloadEvents - 1) * WorkloadEventGap; took < gaps || ttfb <= 0 || ttfb >= took-gaps/2 {
		t.Errorf("call took %v with first byte at %v: want ≥ %v, the first byte well before the end", took, ttfb, gaps)
	}
	// The upstream insists on a bearer: a call that carries only the
	// agent's placeholder key is refused.
	if _, err := p.post(context.Background(), up, false); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("call without a bearer: %v, want status 401", err)
	}
}

func TestCPUTimeCountsThisProcess(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for range 64 {
		sha256.Sum256(buf)
	}
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("cpu time went from %v to %v over 64 MiB of hashing", before, after)
	}
	if _, err := cpuTime(-1); err == nil {
		t.Error("no error for a pid that cannot exist")
	}
}

// The workload's floor relays the call byte for byte (the client carries
// the bearer) and stops when its context ends.
func TestServeRelayCarriesTheWorkload(t *testing.T) {
	var srv servers
	defer srv.close()
	up, err := srv.sseUpstream(WorkloadEvents)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeRelay(ctx, addr, strings.TrimPrefix(up, "http://")) }()
	p := newStreamPoster(WorkloadEvents)
	defer p.hc.CloseIdleConnections()
	var last error
	if !testharness.Eventually(5*time.Second, func() bool { _, last = p.post(ctx, "http://"+addr, true); return last == nil }) {
		t.Fatalf("call through the relay: %v", last)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeRelay after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeRelay did not return after its context ended")
	}
}
