package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// benchBroker starts a daemon against the fakes for a benchmark.
func benchBroker(b *testing.B) (*client.Client, *api.CreatedLease, string, func()) {
	b.Helper()
	dir := b.TempDir()
	sock := filepath.Join(dir, "broker.sock")
	dev, err := devenv.Start(sock, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(Options{Config: dev.Config, Lookup: dev.Lookup, Logger: hclog.NewNullLogger(), HTTP: provider.NewHTTPClient(provider.HTTPConfig{})})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	c := client.New(sock)
	testharness.WaitFor(b, 10*time.Second, "the broker to be ready", func() bool { r, err := c.Ready(ctx); return err == nil && r.Ready })
	l, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		b.Fatal(err)
	}
	url := dev.API.URL() + "/v1/messages"
	return c, l, url, func() { c.Close(); cancel(); <-done; dev.Close() }
}

// latencies collects per-call durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B, prefix string) {
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	if len(l.d) == 0 {
		return
	}
	b.ReportMetric(float64(l.d[len(l.d)/2].Microseconds()), prefix+"p50-µs")
	b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds()), prefix+"p99-µs")
}

// BenchmarkHeaders measures header grants over the real socket through
// client/, next to its floors measured in the same run: a raw unix-socket
// echo round trip, and a trivial handler served by the same HTTP stack.
func BenchmarkHeaders(b *testing.B) {
	for _, conc := range []int{1, 32} {
		b.Run("echo-floor/c="+itoa(conc), func(b *testing.B) { benchEcho(b, conc) })
		b.Run("trivial-http-floor/c="+itoa(conc), func(b *testing.B) { benchTrivial(b, conc) })
		b.Run("grant/c="+itoa(conc), func(b *testing.B) {
			c, l, url, stop := benchBroker(b)
			defer stop()
			req := &api.HeadersRequest{Method: "POST", URL: url, Headers: map[string]string{"anthropic-beta": "tools-2024", "content-type": "application/json"}}
			run(b, conc, func(ctx context.Context) error {
				_, err := c.Headers(ctx, l.ID, l.Secret, req)
				return err
			})
		})
	}
}

func itoa(n int) string {
	if n == 1 {
		return "1"
	}
	return "32"
}

// run calls f b.N times from conc goroutines, reporting grants/s and latency.
func run(b *testing.B, conc int, f func(context.Context) error) {
	var lat latencies
	var n atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n.Add(1) <= int64(b.N) {
				t := time.Now()
				if err := f(ctx); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(t))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "ops/s")
	lat.report(b, "")
}

func benchEcho(b *testing.B, conc int) {
	sock := filepath.Join(b.TempDir(), "echo.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	conns := make(chan net.Conn, conc)
	for i := 0; i < conc; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns <- c
	}
	msg := make([]byte, 256)
	run(b, conc, func(context.Context) error {
		c := <-conns
		defer func() { conns <- c }()
		if _, err := c.Write(msg); err != nil {
			return err
		}
		_, err := io.ReadFull(c, msg)
		return err
	})
}

func benchTrivial(b *testing.B, conc int) {
	sock := filepath.Join(b.TempDir(), "trivial.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok","version":"x"}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := client.New(sock)
	defer c.Close()
	run(b, conc, func(ctx context.Context) error {
		_, err := c.Health(ctx)
		return err
	})
}
