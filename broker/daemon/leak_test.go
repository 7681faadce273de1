package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// TestNoSecretLeaks runs the integration flows at trace level — leases,
// header grants, refreshes and every upstream failure, the forwarder with
// an upstream 401 and a revoked lease, the CLI's commands through the real
// binary, identity registration, raw error bodies — and checks that no
// token, JWT, request token, static key or lease secret the fakes minted or
// the flows created appears in any log line (daemon, forwarder, CLI), API
// answer (but the lease creation's), forwarder answer, CLI output, error
// text, metrics scrape or event.
func TestNoSecretLeaks(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	scan := &leakScan{t: t}
	apiFlows(t, b, scan)
	forwarderFlows(t, b, scan)
	cliFlows(t, b, scan)
	identityFlows(t, b, scan)
	scan.collect(b)

	scan.mintedBy(b.dev)
	if len(b.dev.Anthropic.Tokens()) < 3 || len(b.dev.GitHub.Issued()) < 3 {
		t.Fatalf("the flows minted too little to check (%d tokens)", len(b.dev.Anthropic.Tokens()))
	}
	scan.see("daemon log", b.logs.String())
	scan.check()
}

// apiFlows: leases, grants, refreshes against every fault, refusals.
func apiFlows(t *testing.T, b *broker, scan *leakScan) {
	ctx := context.Background()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "leak"})
	if err != nil {
		t.Fatal(err)
	}
	scan.secret(l.Secret)
	scan.from("lease")(l.Lease, nil)
	url := "http://" + apiHost(b) + "/v1/messages"
	h, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	if err != nil || !strings.HasPrefix(h.Set["authorization"], "Bearer "+fake.TokenPrefix) {
		t.Fatalf("headers = %v, %v", h, err)
	}
	scan.from("leases")(b.client.Leases(ctx))
	scan.from("lease show")(b.client.Lease(ctx, l.ID))
	scan.from("credentials")(b.client.Credentials(ctx))
	for _, f := range []fake.Fault{fake.FaultDeny401, fake.FaultInvalidGrant, fake.FaultHTML, fake.FaultMalformed, fake.FaultTruncated, fake.Fault500, fake.Fault429} {
		b.dev.Anthropic.Fail(f, -1)
		scan.from("refresh under fault")(b.client.Refresh(ctx, "anthropic"))
		scan.from("credential under fault")(b.client.Credential(ctx, "anthropic"))
	}
	b.dev.Anthropic.Reset()
	scan.from("refresh")(b.client.Refresh(ctx, "anthropic"))
	_, err = b.client.Headers(ctx, l.ID, l.Secret+"x", &api.HeadersRequest{Method: "POST", URL: url})
	scan.from("wrong secret")(nil, err)
	_, err = b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://evil.example.com/"})
	scan.from("scope violation")(nil, err)
	scan.from("invalidate")(b.client.Invalidate(ctx, l.ID, l.Secret))
	// Raw refusals: the error bodies themselves, secrets in the request.
	for _, r := range []struct{ method, path, auth, body string }{
		{"POST", "/v1/leases/" + l.ID + "/headers", "Bearer " + l.Secret, `{"method":"POST","url":"` + url + `","colour":"` + l.Secret + `"}`},
		{"POST", "/v1/leases/" + l.ID + "/headers", "Bearer " + l.Secret, `{"method":"POST","url":"` + l.Secret},
		{"POST", "/v1/leases/" + l.ID + "/headers", "Bearer " + l.Secret + "0", `{"method":"POST","url":"` + url + `"}`},
		{"POST", "/v1/leases/" + l.ID + "/headers", "Basic " + l.Secret, `{}`},
		{"GET", "/v1/leases/" + l.Secret, "", ``},
	} {
		_, body := b.raw(r.method, r.path, r.auth, []byte(r.body))
		scan.see("raw "+r.method+" "+strings.Replace(r.path, l.Secret, "<secret>", 1), string(body))
	}
	// Every credential of the dev config, so that a provider added there
	// is scanned with no change here (its fake's minted secrets join in
	// leakScan.mintedBy).
	for _, c := range b.dev.Config.Credentials {
		cl, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: c.Name, Label: "leak-" + c.Name})
		if err != nil {
			t.Fatalf("lease on %s: %v", c.Name, err)
		}
		scan.secret(cl.Secret)
		scan.from("lease on "+c.Name)(cl.Lease, nil)
		req := &api.HeadersRequest{Method: "POST", URL: "https://" + c.Hosts[0] + "/v1/x"}
		if cl.NeedsBodySHA256 {
			req.BodySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		}
		if _, err := b.client.Headers(ctx, cl.ID, cl.Secret, req); err != nil {
			t.Errorf("headers on %s: %v", c.Name, err)
		}
		scan.from("credential " + c.Name)(b.client.Credential(ctx, c.Name))
		scan.from("refresh " + c.Name)(b.client.Refresh(ctx, c.Name))
		scan.from("revoke on " + c.Name)(b.client.RevokeLease(ctx, cl.ID))
	}
	b.dev.GitHub.SetCompleted(true)
	scan.from("refresh, job completed")(b.client.Refresh(ctx, "anthropic"))
	b.dev.GitHub.SetCompleted(false)
	// A completed job's registration is dead for good: the next job registers.
	scan.from("register the next job")(b.client.RegisterIdentity(ctx, "github",
		api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: b.dev.GitHub.RequestToken().Reveal()}))
	b.dev.GitHub.FailWith(500)
	scan.from("refresh, GitHub down")(b.client.Refresh(ctx, "anthropic"))
	b.dev.GitHub.FailWith(0)
	scan.from("refresh")(b.client.Refresh(ctx, "anthropic"))
	scan.from("revoke")(b.client.RevokeLease(ctx, l.ID))
	_, err = b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	scan.from("headers after revoke")(nil, err)
}

// forwarderFlows: the real forwarder at debug level, an upstream 401 and
// its replay, then a revoked lease; every answer and log line is scanned.
func forwarderFlows(t *testing.T, b *broker, scan *leakScan) {
	up, _ := url.Parse(b.dev.API.URL())
	logs := &testlog.Buffer{}
	c := client.New(b.sock)
	defer c.Close()
	f, err := forward.New(forward.Config{Client: c, Credential: "anthropic", Upstream: up, Label: "leak-fwd", MaxWait: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	srv := httptest.NewServer(f)
	defer srv.Close()
	var lastBody string
	call := func(what string, stream bool) int {
		body := `{"model":"claude-fake-1","max_tokens":16,"stream":` + map[bool]string{true: "true", false: "false"}[stream] +
			`,"messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Api-Key", "placeholder")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var hdrs strings.Builder
		_ = resp.Header.Write(&hdrs)
		scan.see("forwarder answer, "+what, hdrs.String()+"\n"+string(out))
		lastBody = string(out)
		return resp.StatusCode
	}
	if s := call("plain", false); s != 200 {
		t.Fatalf("through the forwarder: %d %s; forwarder logs:\n%s", s, lastBody, logs.String())
	}
	call("stream", true)
	b.dev.API.SetUnauthorizedOnce()
	if s := call("after a 401", false); s != 200 {
		t.Errorf("the 401 was not replayed: %d", s)
	}
	leases, _ := b.client.Leases(context.Background())
	for _, l := range leases {
		if l.Holder.Label == "leak-fwd" {
			scan.from("revoke forwarder lease")(b.client.RevokeLease(context.Background(), l.ID))
		}
	}
	if s := call("revoked", false); s != http.StatusServiceUnavailable {
		t.Errorf("after revoke the forwarder answered %d, want 503", s)
	}
	scan.see("forwarder log", logs.String())
}

// cliFlows runs the CLI's commands through the real binary and scans
// everything it prints but the one line that shows a new lease's secret.
func cliFlows(t *testing.T, b *broker, scan *leakScan) {
	cli := bins(t).CLI
	run := func(env []string, args ...string) (string, string) {
		cmd := exec.Command(cli, append([]string{"--socket", b.sock}, args...)...)
		cmd.Env = append(cmd.Environ(), env...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run() // refusals exit non-zero; their text is what matters
		return stdout.String(), stderr.String()
	}
	printed := map[string]string{}
	see := func(env []string, args ...string) {
		out, errOut := run(env, args...)
		printed[strings.Join(args, " ")] = out + errOut
		scan.see("cli "+strings.Join(args, " ")+" (stdout)", out)
		scan.see("cli "+strings.Join(args, " ")+" (stderr)", errOut)
	}
	out, errOut := run(nil, "lease", "create", "anthropic", "--label", "leak-cli")
	m := regexp.MustCompile(`(?m)^secret: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lease create printed no secret:\n%s%s", out, errOut)
	}
	secret := m[1]
	scan.secret(secret)
	scan.see("cli lease create (stdout, secret line removed)", strings.Replace(out, m[0], "secret: <shown once>", 1))
	scan.see("cli lease create (stderr)", errOut)
	id := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).FindString(out)
	if id == "" {
		t.Fatalf("lease create printed no id:\n%s", out)
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	env := []string{"LEAK_SECRET=" + secret}
	for _, args := range [][]string{
		{"status"}, {"-o", "json", "status"}, {"creds"}, {"creds", "anthropic"}, {"-o", "json", "creds", "anthropic"},
		{"leases"}, {"-o", "json", "leases"}, {"lease", "show", id}, {"lease", "renew", id},
		{"headers", id, "--secret-env", "LEAK_SECRET", "--url", url, "--header", "anthropic-beta=tools-2024"},
		{"-o", "json", "headers", id, "--secret-env", "LEAK_SECRET", "--url", url},
		{"headers", id, "--secret-env", "LEAK_SECRET", "--url", "https://evil.example.com/"},
		{"creds", "refresh", "anthropic"}, {"lease", "revoke", id},
		{"headers", id, "--secret-env", "LEAK_SECRET", "--url", url},
		{"lease", "show", "00000000-0000-4000-8000-000000000000"},
		{"identity", "register", "github"},
	} {
		see(env, args...)
	}
	see(append(b.dev.Environ(), env...), "identity", "register", "github", "--from-env")
	see(b.dev.Environ(), "-o", "json", "identity", "register", "github", "--from-env")
	see(nil, "creds", "refresh", "anthropic")
	// The commands ran and said something (a scan of nothing proves nothing).
	for args, want := range map[string]string{
		"status": "anthropic",
		"headers " + id + " --secret-env LEAK_SECRET --url " + url + " --header anthropic-beta=tools-2024": "authorization",
		"lease show 00000000-0000-4000-8000-000000000000":                                                  "unknown_lease",
		"identity register github --from-env":                                                              "github",
	} {
		if !strings.Contains(printed[args], want) {
			t.Errorf("cli %s printed %q, want it to mention %q", args, printed[args], want)
		}
	}
}

// identityFlows registers job identities through the API, good and bad,
// and clears one: the request token must never come back.
func identityFlows(t *testing.T, b *broker, scan *leakScan) {
	ctx := context.Background()
	reg := api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: b.dev.GitHub.RequestToken().Reveal()}
	scan.from("identity register")(b.client.RegisterIdentity(ctx, "github", reg))
	scan.from("refresh after register")(b.client.Refresh(ctx, "anthropic"))
	bad := api.IdentityRegistration{RequestURL: "https://evil.example.com/_apis/token", RequestToken: "ghs_leaktest_" + b.dev.GitHub.RequestToken().Reveal()}
	scan.secret(bad.RequestToken)
	scan.from("identity register, bad host")(b.client.RegisterIdentity(ctx, "github", bad))
	wrong := api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: "ghs_wrongtoken_0123456789abcdef"}
	scan.secret(wrong.RequestToken)
	scan.from("identity register, wrong token")(b.client.RegisterIdentity(ctx, "github", wrong))
	scan.from("refresh with the wrong token")(b.client.Refresh(ctx, "anthropic"))
	_, body := b.raw("PUT", "/v1/identities/github", "", []byte(`{"request_url":"`+reg.RequestURL+`","request_token":"`+wrong.RequestToken+`","colour":1}`))
	scan.see("raw identity register, unknown field", string(body))
	scan.from("identity register again")(b.client.RegisterIdentity(ctx, "github", reg))
	scan.from("refresh")(b.client.Refresh(ctx, "anthropic"))
	scan.from("identity clear")(b.client.ClearIdentity(ctx, "github"))
}
