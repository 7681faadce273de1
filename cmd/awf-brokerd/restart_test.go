package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// activated starts awf-brokerd on an inherited listening socket the way
// systemd passes one: the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set
// to the daemon's own pid (sh sets it to $$, then execs the daemon in its
// place, so the pid stays).
func activated(t *testing.T, sockFile *os.File, u *upstream, cfgPath string) *proc {
	t.Helper()
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, daemonBin, "--config", cfgPath)
	cmd.Env = u.env()
	cmd.ExtraFiles = []*os.File{sockFile}
	return startProc(t, cmd)
}

// TestRestartUnderLoad is the restart of DESIGN §7: the listening socket
// belongs to the service manager (here, this test), a forwarder streams
// requests from several goroutines, and the daemon is stopped with SIGTERM
// and a new one started on the same socket while the stream runs. The
// old daemon drains what it had in flight (a slow refresh finishes with
// 200 after SIGTERM), connections made in the gap wait in the socket's
// backlog, the forwarder re-leases from the new daemon, and not one
// request fails.
func TestRestartUnderLoad(t *testing.T) {
	u := startUpstream(t)
	dir := t.TempDir()
	sock, cfgPath := filepath.Join(dir, "broker.sock"), filepath.Join(dir, "config.hcl")
	writeConfig(t, cfgPath, u.config(filepath.Join(dir, "unused.sock"), u.credential("anthropic")))

	// The socket unit's listening socket.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sockFile, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer sockFile.Close()

	first := activated(t, sockFile, u, cfgPath)
	waitReady(t, sock, first)
	if !strings.Contains(first.logs.String(), "using the socket systemd passed") {
		t.Fatalf("the daemon did not take the inherited socket:\n%s", first.logs.String())
	}

	// The forwarder and its agents.
	up, _ := url.Parse(u.api.URL())
	fc := client.New(sock)
	defer fc.Close()
	f, err := forward.New(forward.Config{Client: fc, Credential: "anthropic", Upstream: up, Label: "restart", MaxWait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithCancel(context.Background())
	defer fcancel()
	if err := f.Start(fctx); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	srv := httptest.NewServer(f)
	defer srv.Close()

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	body := []byte(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 60 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Post(srv.URL+"/v1/messages", "application/json", bytes.NewReader(body))
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = &statusError{resp.StatusCode, string(b)}
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitCount(t, &ok, 50)

	// A slow exchange in flight when SIGTERM arrives: the drain lets it end.
	u.tokens.SetDelay(1500 * time.Millisecond)
	u.tokens.Fail(fake.FaultSlow, 1)
	admin := client.New(sock)
	defer admin.Close()
	refreshed := make(chan error, 1)
	reqs := len(u.tokens.Requests())
	go func() { _, err := admin.Refresh(context.Background(), "anthropic"); refreshed <- err }()
	for len(u.tokens.Requests()) == reqs {
		time.Sleep(5 * time.Millisecond)
	}
	first.stop(t)
	if err := <-refreshed; err != nil {
		t.Fatalf("the refresh in flight at SIGTERM was not drained: %v", err)
	}
	if !strings.Contains(first.logs.String(), "draining in-flight requests") {
		t.Errorf("no drain in the log:\n%s", first.logs.String())
	}

	// The gap: requests keep arriving while no daemon runs.
	beforeRestart := ok.Load()
	time.Sleep(300 * time.Millisecond)
	second := activated(t, sockFile, u, cfgPath)
	waitCount(t, &ok, beforeRestart+50)
	close(stop)
	wg.Wait()
	second.stop(t)

	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed across the restart; first: %v", n, n+ok.Load(), firstErr.Load())
	}
	if !strings.Contains(second.logs.String(), "lease created") {
		t.Errorf("the forwarder did not re-lease from the new daemon:\n%s", second.logs.String())
	}
	if n := u.api.Unauthenticated(); n != 0 {
		t.Errorf("the upstream saw %d requests without valid headers", n)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the socket file did not survive the restarts: %v", err)
	}
	t.Logf("%d requests, %d after the restart, 0 failed", ok.Load(), ok.Load()-beforeRestart)
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return http.StatusText(e.status) + ": " + e.body }

// waitCount waits until c reaches n (the stream is flowing).
func waitCount(t *testing.T, c *atomic.Int64, n int64) {
	t.Helper()
	if !testharness.Eventually(30*time.Second, func() bool { return c.Load() >= n }) {
		t.Fatalf("only %d of %d requests served in 30 s", c.Load(), n)
	}
}
