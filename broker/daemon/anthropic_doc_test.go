package daemon

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// TestAnthropicSetupErrors runs each mistake of docs/anthropic.md's
// "Errors you will meet" against the --dev fakes and checks that the
// credential, the event and the log line look as the page shows them.
func TestAnthropicSetupErrors(t *testing.T) {
	setAudience := func(aud string) func(*devenv.Dev) {
		return func(d *devenv.Dev) {
			for i := range d.Config.Credentials {
				if d.Config.Credentials[i].Name == "anthropic" {
					d.Config.Credentials[i].Audience = aud
				}
			}
		}
	}
	const denied = `exchange failed (status 401): authentication_error: {"error":{"message":"Authentication failed","type":"authentication_error"}}`
	cases := []struct {
		name string
		// before changes the dev setup before the daemon starts; after
		// (when set) breaks it once the credential is ready, then forces a
		// refresh.
		before, after func(*devenv.Dev)
		// states are the acceptable states; a permanent refusal fails the
		// credential at once, even while a served token is still valid
		// (DESIGN §5, fail closed).
		states  []string
		code    string
		lastErr string
	}{
		{"subject does not match the rule", func(d *devenv.Dev) { d.Anthropic.SetSubject("repo:octo-org/other-repo:*") }, nil,
			[]string{api.StateFailed}, "authentication_error", denied},
		{"wrong audience", setAudience("https://example.com"), nil,
			[]string{api.StateFailed}, "authentication_error", denied},
		{"rule deleted while serving", nil, func(d *devenv.Dev) { d.Anthropic.ArchiveRule() },
			[]string{api.StateFailed}, "authentication_error", denied},
		{"rule spans two workspaces, none named", func(d *devenv.Dev) { d.Anthropic.SetWorkspaces("wrkspc_a", "wrkspc_b") }, nil,
			[]string{api.StateFailed}, "authentication_error", denied},
		{"older error shape: invalid_grant", func(d *devenv.Dev) { d.Anthropic.Fail(fake.FaultInvalidGrant, -1) }, nil,
			[]string{api.StateFailed}, "invalid_grant",
			`exchange failed (status 400): invalid_grant: {"error":"invalid_grant","error_description":"assertion rejected"}`},
		{"no id-token: write", func(d *devenv.Dev) {
			delete(d.Env, "ACTIONS_ID_TOKEN_REQUEST_URL")
			delete(d.Env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		}, nil, []string{api.StateFailed}, "not_registered",
			`mint identity token: mint failed: not_registered: identity "github" has no request URL registered`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := startBroker(t, brokerOpts{noReady: c.after == nil, wait: time.Second, mod: func(d *devenv.Dev) {
				onlyAnthropicMints(d)
				if c.before != nil {
					c.before(d)
				}
			}})
			if c.after != nil {
				c.after(b.dev)
			}
			// A forced refresh (creds refresh anthropic) fails the same way
			// again, in sight of the watcher.
			w := watch(t, client.New(b.sock), client.WatchOptions{Types: []string{"credential.refresh_failed"}})
			if _, err := b.client.Refresh(context.Background(), "anthropic"); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			cred := waitFailure(t, b)
			if !slices.Contains(c.states, cred.State) || cred.LastErrorCode != c.code || cred.LastError != c.lastErr {
				t.Fatalf("creds anthropic: state %q code %q last error %q; want state in %v, code %q, last error %q",
					cred.State, cred.LastErrorCode, cred.LastError, c.states, c.code, c.lastErr)
			}
			ev := untilEvent(t, w, func(e api.Event) bool { return e.Credential == "anthropic" })[0]
			if ev.Detail["code"] != c.code || ev.Detail["error"] != c.lastErr || ev.Detail["permanent"] != true {
				t.Fatalf("event %+v: want code %q, error %q, permanent", ev.Detail, c.code, c.lastErr)
			}
			logs := b.logs.String()
			wantLog := `refresh.anthropic: exchange: credential=anthropic provider=anthropic outcome=error`
			if !strings.Contains(logs, wantLog) || !strings.Contains(logs, "error=\""+strings.ReplaceAll(c.lastErr, `"`, `\"`)+"\"") {
				t.Fatalf("no log line %q with the error; logs:\n%s", wantLog, logs)
			}
		})
	}
}

// waitFailure waits until the anthropic credential has failed once.
func waitFailure(t *testing.T, b *broker) *api.CredentialStatus {
	t.Helper()
	var c *api.CredentialStatus
	failed := func() bool {
		var err error
		if c, err = b.client.Credential(context.Background(), "anthropic"); err != nil {
			t.Fatal(err)
		}
		return c.Failures > 0 && c.State != api.StateRefreshing
	}
	if !testharness.Eventually(10*time.Second, failed) {
		t.Fatalf("anthropic never failed; logs:\n%s", b.logs.String())
	}
	return c
}
