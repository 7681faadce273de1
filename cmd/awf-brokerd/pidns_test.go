package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// TestPidNamespace runs awf-brokerd for real in a new pid namespace
// (unshare --pid --fork, as a DaemonSet without hostPID runs it) and the
// forwarder outside it, in this process: SO_PEERCRED gives the broker pid
// 0 for its callers, so bind "process" is refused 400 process_not_visible
// and the forwarder falls back to a uid-bound lease, warns once, and
// serves.
func TestPidNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a pid namespace (unshare --pid)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	if out, err := exec.Command(unshare, "--pid", "--fork", "--kill-child", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a pid namespace here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	u := startUpstream(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "broker.sock")
	cfg := filepath.Join(dir, "config.hcl")
	writeConfig(t, cfg, u.config(sock, u.credential("anthropic")))
	cmd := exec.Command(unshare, "--pid", "--fork", "--kill-child", daemonBin, "--config", cfg)
	cmd.Env = u.env()
	p := startProc(t, cmd) // its cleanup kills unshare, and --kill-child the daemon
	waitReady(t, sock, p)
	ctx := context.Background()

	c := client.New(sock)
	defer c.Close()
	if _, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Bind: api.BindProcess}); !client.IsCode(err, api.CodeProcessNotVisible) {
		t.Fatalf("bind process across pid namespaces: %v, want 400 process_not_visible", err)
	}

	var logs testlog.Buffer
	up, _ := url.Parse(u.api.URL())
	f, err := forward.New(forward.Config{Client: c, Credential: "anthropic", Upstream: up, Label: "pidns",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := f.Start(fctx); err != nil {
		t.Fatalf("forwarder Start: %v\nbroker logs:\n%s", err, p.logs.String())
	}
	srv := httptest.NewServer(f)
	defer func() { srv.Close(); f.Close() }()
	resp, err := http.Post(srv.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello from the fake.") {
		t.Errorf("a call through the forwarder: %d %s", resp.StatusCode, body)
	}
	leases, err := c.Leases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Bind != api.BindUID || leases[0].Holder.PID != 0 {
		t.Errorf("leases %+v %v, want one uid-bound lease whose holder pid is 0", leases, err)
	}
	if n := strings.Count(logs.String(), "the broker cannot see this process"); n != 1 {
		t.Errorf("%d fallback warnings, want 1:\n%s", n, logs.String())
	}
}
