package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// TestProbe runs `probe live` and `probe ready` against a real daemon as a
// node's broker between jobs, during a job, and with a credential the
// upstream refuses: --unbound-ok forgives only the credentials that wait
// for a job.
func TestProbe(t *testing.T) {
	dev, sock := hookBroker(t)
	missing := filepath.Join(t.TempDir(), "none.sock")
	githubCredsFailed := "not ready: anthropic (failed), azure-openai (failed), bedrock (failed), openai (failed), vertex (failed)\n"
	type row struct {
		name   string
		sock   string
		args   []string
		code   int
		stderr string
	}
	check := func(rows []row) {
		t.Helper()
		for _, r := range rows {
			stdout, stderr, code := runCLI(r.sock, nil, r.args...)
			if code != r.code || stderr != r.stderr || stdout != "" {
				t.Errorf("%s: exit %d, want %d\nstderr %q\nwant   %q\nstdout %q", r.name, code, r.code, stderr, r.stderr, stdout)
			}
		}
	}
	check([]row{
		{"live", sock, []string{"probe", "live"}, exitOK, ""},
		{"live without a broker", missing, []string{"probe", "live"}, exitUnreachable,
			"error: cannot reach the broker at " + missing + ": dial unix " + missing + ": connect: no such file or directory (is awf-brokerd running?)\n"},
		{"ready between jobs", sock, []string{"probe", "ready"}, exitRefused, githubCredsFailed},
		{"ready between jobs, unbound ok", sock, []string{"probe", "ready", "--unbound-ok"}, exitOK, ""},
	})

	ctx := context.Background()
	c := client.New(sock)
	defer c.Close()
	register := func(run string) {
		t.Helper()
		job := dev.GitHub.AddJob(run)
		if _, err := c.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: dev.GitHub.RequestURL(), RequestToken: job.Reveal()}); err != nil {
			t.Fatal(err)
		}
	}
	// until waits for the state, up to 20 s.
	until := func(what string, done func() bool) {
		t.Helper()
		testharness.WaitFor(t, 20*time.Second, what, done)
	}

	// A job whose request token GitHub refuses: failed for a reason
	// --unbound-ok does not forgive.
	dev.GitHub.FailWith(403)
	register("5005")
	until("every github credential refused", func() bool {
		cs, err := c.Credentials(ctx)
		for _, cr := range cs {
			if cr.Provider != "static" && (cr.State != api.StateFailed || cr.LastErrorCode == api.CodeNotRegistered) {
				return false
			}
		}
		return err == nil && len(cs) > 0
	})
	check([]row{{"refused by GitHub, unbound ok", sock, []string{"probe", "ready", "--unbound-ok"}, exitRefused, githubCredsFailed}})

	dev.GitHub.FailWith(0)
	register("6006")
	until("ready", func() bool { r, err := c.Ready(ctx); return err == nil && r.Ready })
	check([]row{{"ready during a job", sock, []string{"probe", "ready"}, exitOK, ""}})
}
