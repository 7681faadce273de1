package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/procs"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// built holds the binaries, built on first use; TestMain removes them.
var built procs.Cached

func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

func bins(t *testing.T) procs.Bins {
	t.Helper()
	return built.Must(t)
}

// procBroker is the real awf-brokerd as a child process against fakes
// running in the test process, so the fakes outlive the daemon.
type procBroker struct {
	t    *testing.T
	dev  *devenv.Dev
	sock string
	cfg  string
	proc *procs.Proc
}

func startProcBroker(t *testing.T, lifetime time.Duration) *procBroker {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "broker.sock")
	dev, err := devenv.Start(sock, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	dev.Config.Log.Level = "trace"
	cfg := filepath.Join(dir, "broker.hcl")
	if err := os.WriteFile(cfg, []byte(dev.HCL()), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := &procBroker{t: t, dev: dev, sock: sock, cfg: cfg}
	pb.start()
	t.Cleanup(func() {
		if pb.proc != nil {
			pb.proc.Stop(10 * time.Second)
		}
	})
	return pb
}

// start runs the daemon and waits until it is ready.
func (pb *procBroker) start() {
	pb.t.Helper()
	p, err := procs.Start(bins(pb.t).Daemon, []string{"--config", pb.cfg}, pb.dev.Environ())
	if err != nil {
		pb.t.Fatal(err)
	}
	pb.proc = p
	c := client.New(pb.sock)
	defer c.Close()
	ready := func() bool { r, err := c.Ready(context.Background()); return err == nil && r.Ready }
	switch {
	case !testharness.Eventually(20*time.Second, func() bool { return exited(p) || ready() }):
		pb.t.Fatalf("daemon not ready:\n%s", p.Output())
	case exited(p):
		pb.t.Fatalf("daemon exited (%d):\n%s", p.ExitCode(), p.Output())
	}
}

// exited reports whether p has exited.
func exited(p *procs.Proc) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// TestSocketDeletedExitsLoudly: deleting the socket file under a running
// daemon makes it exit non-zero with a clear error, instead of serving on
// a socket nobody can reach.
func TestSocketDeletedExitsLoudly(t *testing.T) {
	pb := startProcBroker(t, time.Hour)
	if err := os.Remove(pb.sock); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pb.proc.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon still running 15 s after its socket was deleted:\n%s", pb.proc.Output())
	}
	if code := pb.proc.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	out := pb.proc.Output()
	for _, want := range []string{"socket file lost; exiting", "was deleted", "error: the socket file was deleted or replaced while serving"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	pb.proc = nil
}

// TestSocketReplacedExitsWithoutUnlinking: a file put in the socket's place
// is someone else's: the daemon exits and leaves it there.
func TestSocketReplacedExitsWithoutUnlinking(t *testing.T) {
	pb := startProcBroker(t, time.Hour)
	tmp := pb.sock + ".new"
	if err := os.WriteFile(tmp, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, pb.sock); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pb.proc.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon still running after its socket was replaced:\n%s", pb.proc.Output())
	}
	if !strings.Contains(pb.proc.Output(), "was replaced by another file") {
		t.Errorf("output lacks the reason:\n%s", pb.proc.Output())
	}
	if b, err := os.ReadFile(pb.sock); err != nil || string(b) != "not ours" {
		t.Errorf("the replacing file was touched: %q, %v", b, err)
	}
	pb.proc = nil
}

// TestBrokerKillRestartForwarderReleases: SIGKILL the real daemon under a
// running `awf-broker-cli forward` process, restart it on the same socket
// (stale file and all): the forwarder answers 503 while the broker is gone,
// never forwards without headers, and serves again on a new lease once it
// is back.
func TestBrokerKillRestartForwarderReleases(t *testing.T) {
	pb := startProcBroker(t, time.Hour)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fwd, err := procs.Start(bins(t).CLI, []string{"--socket", pb.sock, "forward", "--listen", addr, "--credential", "anthropic",
		"--upstream", pb.dev.API.URL(), "--label", "restart", "--max-wait", "500ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Stop(10 * time.Second)
	call := func() int {
		resp, err := http.Post("http://"+addr+"/v1/messages", "application/json",
			strings.NewReader(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitServed := func(what string) {
		if !testharness.Eventually(20*time.Second, func() bool { return exited(fwd) || exited(pb.proc) || call() == 200 }) || exited(fwd) || exited(pb.proc) {
			t.Fatalf("the forwarder never served %s:\nforwarder:\n%s\ndaemon:\n%s", what, fwd.Output(), pb.proc.Output())
		}
	}
	waitServed("at start")
	c := client.New(pb.sock)
	defer c.Close()
	ctx := context.Background()
	before, err := c.Leases(ctx)
	if err != nil || len(before) != 1 {
		t.Fatalf("leases before: %v, %v", before, err)
	}
	served := pb.dev.API.Served()

	pb.proc.Kill()
	if s := call(); s != http.StatusServiceUnavailable {
		t.Errorf("with the broker dead the forwarder answered %d, want 503", s)
	}
	if n := pb.dev.API.Served(); n != served {
		t.Errorf("the upstream served %d requests while the broker was dead", n-served)
	}
	if n := pb.dev.API.Unauthenticated(); n != 0 {
		t.Errorf("%d requests reached the upstream without valid headers", n)
	}

	pb.start()
	waitServed("after the restart")
	after, err := c.Leases(ctx)
	if err != nil || len(after) != 1 {
		t.Fatalf("leases after: %v, %v", after, err)
	}
	if after[0].ID == before[0].ID || after[0].Holder.Label != "restart" || after[0].Holder.PID != int32(fwd.Pid()) {
		t.Errorf("lease after restart = %+v, want a new one labelled restart held by the forwarder process %d (before: %s)", after[0], fwd.Pid(), before[0].ID)
	}
	select {
	case <-fwd.Done():
		t.Errorf("the forwarder exited:\n%s", fwd.Output())
	default:
	}
}
