package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// daemonBin is the awf-brokerd binary TestMain builds; set once, before
// any test runs.
var daemonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "awf-brokerd-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	daemonBin = filepath.Join(dir, "awf-brokerd")
	out, err := exec.Command("go", "build", "-o", daemonBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build awf-brokerd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Made-up ids the token endpoint fake checks.
const (
	ruleID = "fdrl_01PROCTEST"
	orgID  = "00000000-0000-4000-8000-0000000000aa"
	svacID = "svac_01PROCTEST"
)

// upstream is the fakes the daemon exchanges against, in this process.
type upstream struct {
	gh     *fake.GitHub
	tokens *fake.Anthropic
	api    *fake.AnthropicAPI
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok := fake.NewAnthropic(fake.AnthropicOptions{GitHub: gh, FederationRuleID: ruleID, OrganizationID: orgID, ServiceAccountID: svacID})
	api := fake.NewAnthropicAPI(tok)
	t.Cleanup(func() { api.Close(); tok.Close(); gh.Close() })
	return &upstream{gh: gh, tokens: tok, api: api}
}

// credential is an anthropic credential block against the fakes.
func (u *upstream) credential(name string) string {
	apiHost := strings.TrimPrefix(u.api.URL(), "http://")
	return fmt.Sprintf(`credential %q {
  provider           = "anthropic"
  identity           = "github"
  federation_rule_id = %q
  organization_id    = %q
  service_account_id = %q
  token_url          = %q
  hosts              = [%q, "api.anthropic.com"]
  allow {
    uids = [%d]
  }
}
`, name, ruleID, orgID, svacID, u.tokens.TokenURL(), apiHost, os.Getuid())
}

// config is a whole config file's text.
func (u *upstream) config(sock string, creds ...string) string {
	return fmt.Sprintf(`socket {
  path = %q
  mode = "0600"
}
log {
  level  = "debug"
  format = "json"
}
identity "github" {
  type = "github-actions"
}
%s`, sock, strings.Join(creds, ""))
}

// env is the daemon's environment: the job's request URL and token.
func (u *upstream) env(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + u.gh.RequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + u.gh.RequestToken().Reveal(),
	}, extra...)
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// proc is a running awf-brokerd.
type proc struct {
	cmd  *exec.Cmd
	logs *testlog.Buffer
	done chan error
}

func startProc(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, logs: &testlog.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("awf-brokerd exited with %v; logs:\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("awf-brokerd did not stop; logs:\n%s", p.logs.String())
	}
}

// logged reports whether the daemon's output shows s within 10 s (ample
// under -race on two cores): the output reaches the test through a pipe,
// so a line the daemon wrote before a notify message may arrive after it.
func (p *proc) logged(s string) bool {
	return testharness.Eventually(10*time.Second, func() bool { return strings.Contains(p.logs.String(), s) })
}

// waitReady polls /v1/ready over the socket until every credential is ready.
func waitReady(t *testing.T, sock string, p *proc) {
	t.Helper()
	c := client.New(sock)
	defer c.Close()
	ready := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := c.Ready(ctx)
		return err == nil && r.Ready
	}
	if !testharness.Eventually(20*time.Second, ready) {
		t.Fatalf("awf-brokerd not ready; logs:\n%s", p.logs.String())
	}
}

// notifySocket is a fake systemd notification socket.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, conn: conn, msgs: make(chan string, 256)}
	go func() {
		defer close(n.msgs)
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

// expect waits for a message starting with prefix, skipping watchdog pings
// unless the prefix asks for one, and returns it.
func (n *notifySocket) expect(t *testing.T, prefix string, p *proc) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed waiting for %q", prefix)
			}
			if strings.HasPrefix(m, prefix) {
				return m
			}
			if m == "WATCHDOG=1" {
				continue
			}
			t.Fatalf("got %q waiting for %q; logs:\n%s", m, prefix, p.logs.String())
		case <-timeout:
			t.Fatalf("no %q; logs:\n%s", prefix, p.logs.String())
		}
	}
}

// TestSystemdNotifyAndReload runs the real binary as systemd would with
// Type=notify and WatchdogSec: READY=1 once the first exchange round has
// ended, WATCHDOG=1 pings, RELOADING=1 then READY=1 around a SIGHUP that
// adds a credential (which then serves), a refused reload that keeps the
// old config, and STOPPING=1 on SIGTERM.
func TestSystemdNotifyAndReload(t *testing.T) {
	u := startUpstream(t)
	dir := t.TempDir()
	sock, cfgPath := filepath.Join(dir, "run", "broker.sock"), filepath.Join(dir, "config.hcl")
	writeConfig(t, cfgPath, u.config(sock, u.credential("first")))
	n := newNotifySocket(t)
	cmd := exec.Command(daemonBin, "--config", cfgPath)
	cmd.Env = u.env("NOTIFY_SOCKET="+n.path, "WATCHDOG_USEC=200000")
	p := startProc(t, cmd)

	ready := n.expect(t, "READY=1", p)
	if !strings.Contains(ready, "STATUS=serving") {
		t.Errorf("READY message %q", ready)
	}
	if u.tokens.Exchanges() < 1 {
		t.Error("READY=1 before the first exchange ended")
	}
	n.expect(t, "WATCHDOG=1", p)
	if di, err := os.Stat(filepath.Dir(sock)); err != nil || di.Mode().Perm() != 0o750 {
		t.Errorf("the socket directory the daemon made: %v %v", di.Mode().Perm(), err)
	}

	// A SIGHUP that adds a credential.
	writeConfig(t, cfgPath, u.config(sock, u.credential("first"), u.credential("second")))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := n.expect(t, "RELOADING=1", p); !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING message %q", m)
	}
	if m := n.expect(t, "READY=1", p); !strings.Contains(m, "STATUS=serving") {
		t.Errorf("READY after reload %q", m)
	}
	c := client.New(sock)
	defer c.Close()
	ctx := context.Background()
	if cr, err := c.Refresh(ctx, "second"); err != nil || cr.State != "ready" {
		t.Fatalf("the reloaded credential: %+v %v", cr, err)
	}

	// A SIGHUP with a broken file: refused, logged, the old config serves.
	writeConfig(t, cfgPath, "credential {")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	n.expect(t, "RELOADING=1", p)
	if m := n.expect(t, "READY=1", p); !strings.Contains(m, "reload failed") {
		t.Errorf("READY after a refused reload %q", m)
	}
	if !p.logged("reload refused; the old config stays") {
		t.Errorf("the refusal is not logged:\n%s", p.logs.String())
	}
	if _, err := c.Credential(ctx, "second"); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	n.expect(t, "STOPPING=1", p)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
	for _, s := range append(u.tokens.Tokens(), u.gh.RequestToken().Reveal()) {
		if strings.Contains(p.logs.String(), s) {
			t.Fatal("a secret reached the daemon's output")
		}
	}
}

// TestRefusesWritableFiles: the daemon will not start with a config file
// others may rewrite, nor with a static key file others may rewrite or
// read, and says which file, its owner, its mode and why
// (docs/files-and-exposure.md). An untrusted config is a config error
// (exit 2, as --check-config); an untrusted key fails the start (exit 1).
func TestRefusesWritableFiles(t *testing.T) {
	u := startUpstream(t)
	dir := t.TempDir()
	sock, cfgPath, keyPath := filepath.Join(dir, "broker.sock"), filepath.Join(dir, "config.hcl"), filepath.Join(dir, "api.key")
	writeConfig(t, keyPath, "sk-test-key\n")
	static := fmt.Sprintf(`credential "key" {
  provider   = "static"
  header     = "x-api-key"
  value_file = %q
  hosts      = ["api.anthropic.com"]
}
`, keyPath)
	uid := strconv.Itoa(os.Getuid())
	cases := []struct {
		name          string
		cfgMode, mode os.FileMode
		exit          int
		want          string
	}{
		{"group-writable config", 0o620, 0o600, 2, "config file " + cfgPath + " (owner uid " + uid + ", mode 0620): group-writable; chmod g-w " + cfgPath},
		{"world-writable config", 0o602, 0o600, 2, "config file " + cfgPath + " (owner uid " + uid + ", mode 0602): writable by others; chmod o-w " + cfgPath},
		{"group-writable key", 0o600, 0o660, 1, `credential "key": value_file ` + keyPath + " (owner uid " + uid + ", mode 0660): group-writable; chmod g-w " + keyPath},
		{"world-readable key", 0o600, 0o644, 1, `credential "key": value_file ` + keyPath + " (owner uid " + uid + ", mode 0644): readable by others; chmod o-r " + keyPath},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			writeConfig(t, cfgPath, u.config(sock, static))
			if err := os.Chmod(cfgPath, c.cfgMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(keyPath, c.mode); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(daemonBin, "--config", cfgPath)
			cmd.Env = u.env()
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != c.exit || !strings.Contains(string(out), c.want) {
				t.Fatalf("exit %v, output:\n%s\nwant %q", err, out, c.want)
			}
			if _, err := os.Stat(sock); err == nil {
				t.Fatal("the socket was created before the refusal")
			}
		})
	}
}

// TestReadyAfterAFailedFirstRound: READY=1 comes when the first exchange
// round has ended, in failure too (systemd must not time the start out
// because an upstream refuses), and the failure shows in the state.
func TestReadyAfterAFailedFirstRound(t *testing.T) {
	u := startUpstream(t)
	u.tokens.Fail(fake.FaultDeny401, -1)
	dir := t.TempDir()
	sock, cfgPath := filepath.Join(dir, "broker.sock"), filepath.Join(dir, "config.hcl")
	writeConfig(t, cfgPath, u.config(sock, u.credential("refused")))
	n := newNotifySocket(t)
	cmd := exec.Command(daemonBin, "--config", cfgPath)
	cmd.Env = u.env("NOTIFY_SOCKET=" + n.path)
	p := startProc(t, cmd)
	n.expect(t, "READY=1", p)
	c := client.New(sock)
	defer c.Close()
	cr, err := c.Credential(context.Background(), "refused")
	if err != nil || cr.State != "failed" || cr.Failures == 0 {
		t.Fatalf("after READY: %+v %v", cr, err)
	}
	p.stop(t)
}
