package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

type noCreds struct{}

func (noCreds) Get(string) (Issuer, bool) { return nil, false }
func (noCreds) All() []Issuer             { return nil }

func (noCreds) LeaseChange(f func() error) error { return f() }

func serve(t *testing.T, cfg Config) (string, func()) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials, cfg.Leases = noCreds{}, lease.New(lease.Config{})
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	return sock, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
}

// A client that connects and sends nothing is dropped.
func TestSilentClientDropped(t *testing.T) {
	sock, stop := serve(t, Config{ReadHeaderTimeout: 200 * time.Millisecond})
	defer stop()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a silent connection open for 5 s")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("dropped after %v", d)
	}
}

// Serve drains: a request in flight when the context ends is answered.
// The test waits on states, not on time: the request is in the handler,
// then the server has closed its listener (a new connection is refused)
// while the request is still unanswered, and only then is it let go.
func TestServeDrainsInFlight(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.Write([]byte("# metrics\n"))
	})
	sock, stop := serve(t, Config{Metrics: slow})
	hc := testharness.UnixClient(sock)
	got := make(chan int, 1)
	go func() {
		resp, err := hc.Get("http://unix/metrics")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-entered
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	testharness.WaitFor(t, 10*time.Second, "the server to close its listener", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case code := <-got:
		t.Fatalf("the in-flight request was answered (%d) before its handler returned", code)
	case <-stopped:
		t.Fatal("Serve returned with a request in flight")
	default:
	}
	close(release)
	if code := <-got; code != http.StatusOK {
		t.Fatalf("in-flight request got %d during shutdown", code)
	}
	<-stopped
}
