package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/daemon"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/procs"
)

// built holds the binaries, built on first use; TestMain removes them.
var built procs.Cached

func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

// runnerHook runs one of deploy/runner-hooks/ as the runner does: the
// script with no arguments, the job's environment and nothing else (the
// built CLI first on PATH). A guard deadline far above the hook's own
// bound catches a hook that hangs.
func runnerHook(t *testing.T, script string, env map[string]string) (stdout, stderr string, code int, took time.Duration) {
	t.Helper()
	bin := built.Must(t).CLI
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The runner runs a .sh hook as `bash -e FILE` (GitHub's "Running
	// scripts before or after a job").
	cmd := exec.CommandContext(ctx, "bash", "-e", filepath.Join("..", "..", "deploy", "runner-hooks", script))
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("%s hung: killed after %s", script, took)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", script, err)
	}
	return out.String(), errb.String(), code, took
}

// hookBroker is a real daemon against the fakes whose github identity is
// registered only at run time, with the fake's loopback host listed in
// allowed_request_hosts (as a non-admin registration requires).
func hookBroker(t *testing.T) (*devenv.Dev, string) {
	t.Helper()
	return startDaemon(t, func(dev *devenv.Dev) {
		delete(dev.Env, requestURLEnv)
		delete(dev.Env, requestTokenEnv)
		dev.Config.Identities[0].AllowedRequestHosts = []string{"127.0.0.1"}
	})
}

// startDaemon runs a real daemon in the test process against devenv's
// fakes, once mod (if any) has adjusted them, until the test ends; it
// returns after the daemon's first exchange round, with the fakes and the
// daemon's socket.
func startDaemon(t *testing.T, mod func(*devenv.Dev)) (*devenv.Dev, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "broker.sock")
	dev, err := devenv.Start(sock, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	if mod != nil {
		mod(dev)
	}
	d, err := daemon.New(daemon.Options{Config: dev.Config, Lookup: dev.Lookup, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-d.FirstRound():
	case <-time.After(10 * time.Second):
		t.Fatal("no first round")
	}
	return dev, sock
}

// TestRunnerHooksBindEachJob runs deploy/runner-hooks/ as the runner would
// for three jobs on one runner: each job-started binds that job's identity
// (its token is exchanged from its own JWT, which the fakes stamp with
// its run id), job-completed takes the job's leases away, a repeated hook
// changes nothing, and a job-started without the previous job-completed
// re-binds and revokes the previous job's leases. No request token is
// ever printed.
func TestRunnerHooksBindEachJob(t *testing.T) {
	dev, sock := hookBroker(t)
	ctx := context.Background()
	c := client.New(sock)
	defer c.Close()
	var bound []string
	for _, cr := range dev.Config.Credentials {
		if cr.Identity == "github" {
			bound = append(bound, cr.Name)
		}
	}
	slices.Sort(bound)
	creds := strings.Join(bound, ", ")

	jobs := map[string]string{}
	jobEnv := func(run string) map[string]string {
		jobs[run] = dev.GitHub.AddJob(run).Reveal()
		return map[string]string{
			api.SocketEnv: sock, "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": run,
			requestURLEnv: dev.GitHub.RequestURL(), requestTokenEnv: jobs[run],
		}
	}
	var printed strings.Builder
	hook := func(script string, env map[string]string, wantLine string) {
		t.Helper()
		stdout, stderr, code, _ := runnerHook(t, script, env)
		printed.WriteString(stdout + stderr)
		if code != 0 || stdout != wantLine+"\n" || stderr != "" {
			t.Fatalf("%s: exit %d\nstdout %q\nwant   %q\nstderr %q", script, code, stdout, wantLine+"\n", stderr)
		}
	}
	lease := func(run string) *api.CreatedLease {
		t.Helper()
		l, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "job-" + run})
		if err != nil {
			t.Fatal(err)
		}
		if got := tokenRun(t, dev, c, l); got != run {
			t.Fatalf("job %s's lease was served a token minted for run %q", run, got)
		}
		return l
	}
	revoked := func(job string, l *api.CreatedLease) {
		t.Helper()
		_, err := c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
		if !client.IsCode(err, api.CodeLeaseRevoked) {
			t.Fatalf("job %s's lease: headers answered %v, want lease_revoked", job, err)
		}
		if got, err := c.Lease(ctx, l.ID); err != nil || got.State != api.LeaseRevoked {
			t.Fatalf("job %s's lease: %+v, %v; want state revoked", job, got, err)
		}
	}

	// Job A: bound, served from A's JWT; the hook run twice changes nothing.
	envA := jobEnv("1001")
	hook("job-started.sh", envA, "awf-broker: identity github bound to this job (generation 1); credentials now bound: "+creds)
	la := lease("1001")
	hook("job-started.sh", envA, "awf-broker: identity github bound to this job (generation 1); credentials now bound: "+creds)
	if got := tokenRun(t, dev, c, la); got != "1001" {
		t.Fatalf("after a repeated job-started, job A's lease is served run %q", got)
	}
	hook("job-completed.sh", envA, "awf-broker: identity github cleared (generation 2); credentials unbound: "+creds+"; 1 lease(s) revoked")
	revoked("A", la)
	hook("job-completed.sh", envA, "awf-broker: identity github cleared (generation 2); credentials unbound: "+creds)

	// Job B, then job C without B's job-completed (a runner that crashed).
	envB := jobEnv("2002")
	hook("job-started.sh", envB, "awf-broker: identity github bound to this job (generation 3); credentials now bound: "+creds)
	lb := lease("2002")
	envC := jobEnv("3003")
	hook("job-started.sh", envC, "awf-broker: identity github bound to this job (generation 4); credentials now bound: "+creds+"; 1 lease(s) of an earlier job revoked")
	revoked("B", lb)
	lease("3003")

	// A job without id-token: write gets nothing of job C: no lease at all
	// while no job is bound.
	hook("job-started.sh", map[string]string{api.SocketEnv: sock, "GITHUB_ACTIONS": "true"},
		"awf-broker: no ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN in the job (no id-token: write permission?); identity github cleared (generation 5); no credentials bound; 1 lease(s) of an earlier job revoked")
	if _, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"}); !client.IsCode(err, api.CodeCredentialUnavailable) {
		t.Fatalf("a lease with no job bound: %v, want credential_unavailable", err)
	}

	for run, tok := range jobs {
		if strings.Contains(printed.String(), tok) {
			t.Fatalf("job %s's request token was printed", run)
		}
	}
}

// tokenRun asks for the headers of one request under l and returns the
// run id the fakes stamped on the token behind them.
func tokenRun(t *testing.T, dev *devenv.Dev, c *client.Client, l *api.CreatedLease) string {
	t.Helper()
	h, err := c.Headers(context.Background(), l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
	if err != nil {
		t.Fatalf("headers: %v", err)
	}
	return dev.Anthropic.RunIDOf(strings.TrimPrefix(h.Set["authorization"], "Bearer "))
}

// TestRunnerHookRefusals: outside a job, with a bad setting, against a
// missing broker, an unknown identity or a broker that never answers,
// each hook exits non-zero with one clear line, within its time bound.
func TestRunnerHookRefusals(t *testing.T) {
	_, sock := hookBroker(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	wedged := filepath.Join(dir, "wedged.sock")
	l, err := net.Listen("unix", wedged)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		// Accept and never answer: a wedged broker.
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	job := func(sock string, extra ...string) map[string]string {
		m := map[string]string{api.SocketEnv: sock, "GITHUB_ACTIONS": "true", requestURLEnv: "http://127.0.0.1:1/_apis/token", requestTokenEnv: "not-a-real-token"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	notInJob := "error: not inside a GitHub Actions job: GITHUB_ACTIONS and ACTIONS_ID_TOKEN_REQUEST_URL are unset (the runner runs this hook with the job's environment when %s names it)\n"
	cases := []struct {
		name, script string
		env          map[string]string
		code         int
		stderr       string
	}{
		{"job-started outside a job", "job-started.sh", map[string]string{api.SocketEnv: sock}, exitUsage,
			fmt.Sprintf(notInJob, "ACTIONS_RUNNER_HOOK_JOB_STARTED")},
		{"job-completed outside a job", "job-completed.sh", map[string]string{api.SocketEnv: sock}, exitUsage,
			fmt.Sprintf(notInJob, "ACTIONS_RUNNER_HOOK_JOB_COMPLETED")},
		{"a timeout that is no duration", "job-started.sh", job(sock, hookTimeoutEnv, "soon"), exitUsage,
			"error: AWF_BROKER_HOOK_TIMEOUT=\"soon\" is not a positive duration such as 10s\n"},
		{"job-started with no broker", "job-started.sh", job(missing), exitUnreachable,
			"error: cannot reach the broker at " + missing + ": dial unix " + missing + ": connect: no such file or directory (is awf-brokerd running?)\n"},
		{"job-completed with no broker", "job-completed.sh", job(missing), exitUnreachable,
			"error: cannot reach the broker at " + missing + ": dial unix " + missing + ": connect: no such file or directory (is awf-brokerd running?)\n"},
		{"job-started against a wedged broker", "job-started.sh", job(wedged, hookTimeoutEnv, "300ms"), exitUnreachable,
			"error: cannot reach the broker at " + wedged + ": no answer within 300ms (AWF_BROKER_HOOK_TIMEOUT) (is awf-brokerd running?)\n"},
		{"an identity the broker does not have", "job-completed.sh", job(sock, hookIdentityEnv, "nope"), exitRefused,
			"error: Unknown identity: no github-actions identity \"nope\" (unknown_identity)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code, took := runnerHook(t, c.script, c.env)
			if code != c.code || stderr != c.stderr || stdout != "" {
				t.Fatalf("exit %d, want %d\nstderr %q\nwant   %q\nstdout %q", code, c.code, stderr, c.stderr, stdout)
			}
			if took > 5*time.Second {
				t.Errorf("took %s; a hook must be bounded by its timeout", took)
			}
		})
	}
}

// TestSidecarStartedBeforeTheJob is a runner pod's story: its sidecar
// forwarder starts with the pod, before the runner has a job. Until the
// job-started hook binds the job, the broker grants no lease (a lease then
// could serve nothing and would be revoked by the registration), so the
// forwarder keeps retrying and answers 503 without calling the upstream;
// once the hook ran it leases and serves the job's own token; after
// job-completed it fails closed.
func TestSidecarStartedBeforeTheJob(t *testing.T) {
	dev, sock := hookBroker(t)
	up, _ := url.Parse(dev.API.URL())
	fc := client.New(sock)
	defer fc.Close()
	f, err := forward.New(forward.Config{Client: fc, Credential: "anthropic", Upstream: up, Label: "sidecar", MaxWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() { started <- f.Start(ctx) }()
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); f.Close(); cancel() })
	post := func() int {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/messages", "application/json",
			strings.NewReader(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	if got := post(); got != http.StatusServiceUnavailable {
		t.Fatalf("before the job: %d, want 503", got)
	}
	select {
	case err := <-started:
		t.Fatalf("the forwarder got a lease before any job was bound (Start: %v)", err)
	default:
	}

	tok := dev.GitHub.AddJob("4004")
	env := map[string]string{api.SocketEnv: sock, "GITHUB_ACTIONS": "true", requestURLEnv: dev.GitHub.RequestURL(), requestTokenEnv: tok.Reveal()}
	if _, stderr, code, _ := runnerHook(t, "job-started.sh", env); code != 0 {
		t.Fatalf("job-started: exit %d: %s", code, stderr)
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the forwarder did not lease after job-started")
	}
	if got := post(); got != http.StatusOK {
		t.Fatalf("during the job: %d, want 200", got)
	}
	hs := dev.API.Headers()
	bearer := strings.TrimPrefix(hs[len(hs)-1].Get("Authorization"), "Bearer ")
	if run := dev.Anthropic.RunIDOf(bearer); run != "4004" {
		t.Fatalf("the upstream got a token of run %q, want the job's 4004", run)
	}

	if _, stderr, code, _ := runnerHook(t, "job-completed.sh", env); code != 0 {
		t.Fatalf("job-completed: exit %d: %s", code, stderr)
	}
	served := dev.API.Served()
	if got := post(); got != http.StatusServiceUnavailable {
		t.Fatalf("after the job: %d, want 503", got)
	}
	if dev.API.Served() != served {
		t.Fatal("after job-completed a request reached the upstream")
	}
	if before := dev.API.Unauthenticated(); before != 0 {
		t.Fatalf("the upstream saw %d requests without valid headers", before)
	}
}
