package testharness

import (
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records a failure instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, _ ...any) { f.failed = format; panic(f) }

func TestWaitFor(t *testing.T) {
	var n atomic.Int32
	WaitFor(t, time.Second, "three checks", func() bool { return n.Add(1) == 3 })
	if n.Load() != 3 {
		t.Fatalf("cond checked %d times, want 3", n.Load())
	}
	f := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		WaitFor(f, 20*time.Millisecond, "never", func() bool { return false })
	}()
	if f.failed != "timed out after %v waiting for %s" {
		t.Fatalf("a condition never met did not fail the test (%q)", f.failed)
	}
}

func TestEventually(t *testing.T) {
	var n atomic.Int32
	if !Eventually(time.Second, func() bool { return n.Add(1) == 3 }) || n.Load() != 3 {
		t.Fatalf("Eventually of a condition met at the third check: checked %d times, want true after 3", n.Load())
	}
	start := time.Now()
	if Eventually(20*time.Millisecond, func() bool { return false }) {
		t.Fatal("Eventually of a condition never met reported true")
	}
	if took := time.Since(start); took < 20*time.Millisecond || took > 5*time.Second {
		t.Fatalf("Eventually gave up after %v, want soon after its 20ms timeout", took)
	}
}

func TestUnixClient(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := UnixClient(sock).Get("http://unix/anything")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d, want 418 from the socket's server", resp.StatusCode)
	}
}
