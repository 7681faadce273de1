package daemon

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/internal/agents"
	"github.com/awf-broker/awf-broker/internal/procs"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// The real agents (testdata/agents) as clients of the broker: the harness
// runs the real awf-brokerd against the fakes of this process, the real
// awf-broker-cli sidecar or forward in front of it, and the agents'
// own binaries with nothing but dummy keys.

// agentTimeout bounds one agent run; the fakes answer in milliseconds,
// so a run that takes this long is hung (e.g. on the closed network).
const agentTimeout = 90 * time.Second

// requireAgents installs (npm ci, when stale) and returns the pinned
// agents. Without node or npm the test skips and says why, unless
// AWF_AGENT_TESTS=required (CI), where it fails.
func requireAgents(t *testing.T) agents.Set {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "agents"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := agents.Ensure(ctx, dir)
	switch {
	case err == nil:
		return s
	case errors.Is(err, agents.ErrNoNode) && !agents.Required():
		t.Skipf("skipping the real-agent test: %v (install Node.js 20+ and npm; CI sets %s=required and fails here instead)", err, agents.RequiredEnv)
	}
	t.Fatalf("the real agents are not usable: %v", err)
	return agents.Set{}
}

// agentRun is one run of an agent binary.
type agentRun struct {
	bin  string
	args []string
	// env is added to PATH (node's directory first) and HOME (a fresh
	// directory); nothing of the test's own environment is passed on.
	env []string
	// dir is the working directory (default: a fresh one).
	dir string
}

// quietEnv turns off the agents' telemetry, error reports and update
// checks, which would otherwise dial out on a closed network.
var quietEnv = []string{
	"DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "DISABLE_ERROR_REPORTING=1",
	"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_NON_ESSENTIAL_MODEL_CALLS=1",
	"NO_UPDATE_NOTIFIER=1", "CI=true", "NO_COLOR=1",
}

// run executes r bounded by agentTimeout (killing its whole process
// group), fails the test unless it exits 0, and returns what it printed.
func (r agentRun) run(t *testing.T, s agents.Set) string {
	t.Helper()
	home := t.TempDir()
	if r.dir == "" {
		r.dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), agentTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, r.args...)
	cmd.Dir = r.dir
	cmd.Env = append([]string{"PATH=" + filepath.Dir(s.Node) + ":/usr/bin:/bin", "HOME=" + home}, quietEnv...)
	cmd.Env = append(cmd.Env, r.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %s", filepath.Base(r.bin), strings.Join(r.args[:min(len(r.args), 1)], " "), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s; it printed:\n%s", filepath.Base(r.bin), agentTimeout, out.String())
	}
	if err != nil {
		t.Fatalf("%s failed: %v; it printed:\n%s", filepath.Base(r.bin), err, out.String())
	}
	return out.String()
}

// agentProxy is a running awf-broker-cli in front of the broker: the
// sidecar (ports base…base+4) or a forwarder.
type agentProxy struct {
	proc *procs.Proc
	base int
}

// url is the base URL of the sidecar's port for provider name.
func (a *agentProxy) url(name string) string {
	for i, n := range []string{"openai", "anthropic", "copilot", "gemini", "vertex"} {
		if n == name {
			return "http://127.0.0.1:" + strconv.Itoa(a.base+i)
		}
	}
	panic("no sidecar port for " + name)
}

// startAgentSidecar runs `awf-broker-cli sidecar` on loopback at a free
// port offset (never the fixed 10000s: other tests run beside this one),
// with extra flags, and waits until /health says every provider in want
// is ready.
func startAgentSidecar(t *testing.T, pb *procBroker, want []string, extra ...string) *agentProxy {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		offset := freeOffset(t)
		args := append([]string{"--socket", pb.sock, "sidecar", "--bind", "127.0.0.1",
			"--port-offset", strconv.Itoa(offset), "--label", "agents"}, extra...)
		p, err := procs.Start(bins(t).CLI, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := &agentProxy{proc: p, base: 10000 + offset}
		t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
		if a.waitHealthy(t, want) {
			return a
		}
		if !strings.Contains(p.Output(), "address already in use") {
			t.Fatalf("the sidecar did not become healthy:\n%s", p.Output())
		}
	}
	t.Fatal("no free port range for the sidecar after 5 tries")
	return nil
}

// waitHealthy polls GET /health on the sidecar's first port until every
// provider in want is ready; false when the process exits first.
func (a *agentProxy) waitHealthy(t *testing.T, want []string) bool {
	t.Helper()
	healthy := func() bool {
		var h struct {
			Providers map[string]bool `json:"providers"`
		}
		resp, err := http.Get(a.url("openai") + "/health")
		if err != nil {
			return false
		}
		_ = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		for _, n := range want {
			if !h.Providers[n] {
				return false
			}
		}
		return true
	}
	if testharness.Eventually(20*time.Second, func() bool { return exited(a.proc) || healthy() }) {
		return !exited(a.proc)
	}
	t.Fatalf("the sidecar's providers %v not ready in 20 s:\n%s", want, a.proc.Output())
	return false
}

// freeOffset picks a port offset whose five ports are free right now.
func freeOffset(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		off := 20000 + rand.IntN(30000)
		var held []net.Listener
		ok := true
		for p := 10000 + off; p < 10005+off && ok; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, ln)
		}
		for _, ln := range held {
			ln.Close()
		}
		if ok {
			return off
		}
	}
	t.Fatal("no five free consecutive ports found")
	return 0
}

// nonce is a fresh word to put in a prompt and find at the fake.
func nonce() string { return fmt.Sprintf("awf-%08x", rand.Uint32()) }

// writeFile writes a test file, failing the test on error.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// placeholderKey is the key an agent is given: key-shaped so the agent
// starts, made at run time so no such value is in the tree, and worthless
// (the sidecar strips it; the broker adds the real credential).
func placeholderKey(prefix string) string { return prefix + crand.Text() }
