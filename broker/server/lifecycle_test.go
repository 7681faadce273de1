package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
)

func TestHealthAndReady(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	r := h.do("GET", "/v1/health", "", "")
	var health api.Health
	r.decode(t, &health)
	if r.status != 200 || health != (api.Health{Status: "ok", Version: "test"}) {
		t.Errorf("health: %d %+v", r.status, health)
	}
	r = h.do("GET", "/v1/ready", "", "")
	if r.status != 200 || string(r.body) != `{"ready":true,"not_ready":[]}`+"\n" {
		t.Errorf("ready: %d %s", r.status, r.body)
	}
	h.creds["aws"].set(api.StateDegraded, nil) // still serving
	h.creds["open"].set(api.StateFailed, nil)
	r = h.do("GET", "/v1/ready", "", "")
	if r.status != 503 || string(r.body) != `{"ready":false,"not_ready":[{"credential":"open","state":"failed"}]}`+"\n" {
		t.Errorf("not ready: %d %s", r.status, r.body)
	}
}

func TestLeaseLifecycle(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	created := h.create(`{"credential":"anthropic","ttl":"10m","label":"fwd","bind":"process"}`)
	if !strings.HasPrefix(created.Secret, lease.SecretPrefix) || created.Credential != "anthropic" || created.Bind != api.BindProcess ||
		created.State != api.LeaseActive || !created.ExpiresAt.Equal(start.Add(10*time.Minute)) || created.Holder.Label != "fwd" ||
		strings.Join(created.Scope.Hosts, ",") != "api.anthropic.com,127.0.0.1" {
		t.Fatalf("created: %+v", created)
	}
	path := "/v1/leases/" + created.ID

	r := h.do("GET", path, "", "")
	if r.status != 200 || strings.Contains(string(r.body), created.Secret) || strings.Contains(string(r.body), `"secret"`) {
		t.Fatalf("show: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"created_at":"2026-11-28T12:00:00Z"`) {
		t.Errorf("times are not RFC 3339 UTC: %s", r.body)
	}

	r = h.do("POST", path+"/headers", `{"method":"post","url":"https://api.anthropic.com/v1/messages","headers":{"anthropic-beta":"x"}}`, created.Secret)
	want := `{"set":{"anthropic-version":"2023-06-01","authorization":"Bearer ` + tokenValue + `"},"remove":[],"valid_until":"2026-11-28T12:10:00Z"}` + "\n"
	if r.status != 200 || string(r.body) != want || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %d %s\nwant %s", r.status, r.body, want)
	}
	last := h.creds["anthropic"].last
	if last.Method != "POST" || last.URL.String() != "https://api.anthropic.com/v1/messages" || last.Headers["anthropic-beta"] != "x" {
		t.Errorf("credential saw %+v", last)
	}

	h.clk.Advance(5 * time.Minute)
	r = h.do("POST", path+"/renew", "", "")
	var renewed api.Lease
	r.decode(t, &renewed)
	if r.status != 200 || !renewed.ExpiresAt.Equal(start.Add(15*time.Minute)) || renewed.Requests != 1 {
		t.Fatalf("renew: %d %s", r.status, r.body)
	}
	// valid_until is the earlier of the token's expiry and the lease's.
	h.clk.Advance(time.Minute)
	r = h.do("POST", path+"/renew", `{"ttl":"15m"}`, "")
	if r.status != 200 {
		t.Fatalf("renew 15m: %d %s", r.status, r.body)
	}
	r = h.do("POST", path+"/headers", `{"method":"GET","url":"http://127.0.0.1:8080/v1/models"}`, created.Secret)
	if r.status != 200 || !strings.Contains(string(r.body), `"valid_until":"2026-11-28T12:21:00Z"`) {
		t.Errorf("headers after renew: %d %s", r.status, r.body)
	}
	r = h.do("POST", path+"/invalidate", "", created.Secret)
	var st api.CredentialStatus
	r.decode(t, &st)
	if r.status != 202 || st.Name != "anthropic" {
		t.Errorf("invalidate: %d %s", r.status, r.body)
	}

	r = h.do("DELETE", path, "", "")
	var revoked api.Lease
	r.decode(t, &revoked)
	if r.status != 200 || revoked.State != api.LeaseRevoked || revoked.Requests != 3 { // two grants and the invalidate
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r = h.do("POST", path+"/headers", `{"method":"POST","url":"https://api.anthropic.com/v1/messages"}`, created.Secret)
	if p := r.problem(t); r.status != 410 || p.Code != api.CodeLeaseRevoked {
		t.Errorf("headers after revoke: %d %+v", r.status, p)
	}
	if r := h.do("DELETE", path, "", ""); r.status != 200 {
		t.Errorf("revoking twice: %d %s", r.status, r.body)
	}
	r = h.do("POST", path+"/renew", "", "")
	if p := r.problem(t); r.status != 410 || p.Code != api.CodeLeaseRevoked {
		t.Errorf("renew after revoke: %d %+v", r.status, p)
	}

	// An expired lease answers 410 lease_expired.
	short := h.create(`{"credential":"anthropic","ttl":"1m"}`)
	h.clk.Advance(time.Minute)
	r = h.do("POST", "/v1/leases/"+short.ID+"/headers", `{"method":"POST","url":"https://api.anthropic.com/v1/messages"}`, short.Secret)
	if p := r.problem(t); r.status != 410 || p.Code != api.CodeLeaseExpired {
		t.Errorf("expired: %d %+v", r.status, p)
	}
	h.leases.Sweep()

	// Every lease change has an info audit line; header grants do not.
	logs := h.logs.String()
	for _, msg := range []string{`"lease created"`, `"lease renewed"`, `"lease revoked"`, `"lease expired"`} {
		if !strings.Contains(logs, msg) {
			t.Errorf("no %s audit line", msg)
		}
	}
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "/headers") && strings.Contains(line, `"@level":"info"`) {
			t.Errorf("header grant logged at info: %s", line)
		}
		if strings.Contains(line, created.Secret) || strings.Contains(line, short.Secret) {
			t.Errorf("secret in the log: %s", line)
		}
	}
}

func TestBodySHA256(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	l := h.create(`{"credential":"aws","hosts":["bedrock-runtime.us-east-1.amazonaws.com"]}`)
	if !l.NeedsBodySHA256 {
		t.Fatal("needs_body_sha256 not set on the lease")
	}
	url := "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude%3A0/invoke"
	sum := strings.Repeat("ab", 32)
	for _, c := range []struct{ body, code string }{
		{`{"method":"POST","url":"` + url + `"}`, api.CodeBadRequest},
		{`{"method":"POST","url":"` + url + `","body_sha256":"abc"}`, api.CodeBadRequest},
		{`{"method":"POST","url":"` + url + `","body_sha256":"` + strings.Repeat("zz", 32) + `"}`, api.CodeBadRequest},
		{`{"method":"POST","url":"` + url + `","body_sha256":"` + strings.ToUpper(sum) + `"}`, ""},
	} {
		r := h.do("POST", "/v1/leases/"+l.ID+"/headers", c.body, l.Secret)
		if c.code == "" {
			if r.status != 200 || !strings.Contains(string(r.body), `"valid_until":"2026-11-28T12:05:00Z"`) {
				t.Errorf("%s: %d %s", c.body, r.status, r.body)
			}
			continue
		}
		if p := r.problem(t); p.Code != c.code {
			t.Errorf("%s: %d %+v", c.body, r.status, p)
		}
	}
	if got := h.creds["aws"].last.BodySHA256; got != sum {
		t.Errorf("credential got body_sha256 %q, want lower-case %q", got, sum)
	}
}

func TestCredentialErrors(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	l := h.create(`{"credential":"anthropic"}`)
	headers := func() reply {
		return h.do("POST", "/v1/leases/"+l.ID+"/headers", `{"method":"POST","url":"https://api.anthropic.com/v1/messages"}`, l.Secret)
	}
	cr := h.creds["anthropic"]

	cr.set("", &api.Problem{Status: 503, Code: api.CodeCredentialUnavailable, Detail: "no token yet", RetryAfter: 3})
	r := headers()
	if p := r.problem(t); r.status != 503 || p.Code != api.CodeCredentialUnavailable || r.header.Get("Retry-After") != "3" || p.RetryAfter != 3 || p.Title != "Credential unavailable" {
		t.Errorf("unavailable: %d %v %s", r.status, r.header, r.body)
	}
	cr.set("", &api.Problem{Status: 503, Code: api.CodeCredentialFailed, Detail: "upstream refused the exchange", UpstreamCode: "invalid_grant"})
	r = headers()
	if p := r.problem(t); p.Code != api.CodeCredentialFailed || p.UpstreamCode != "invalid_grant" || r.header.Get("Retry-After") != "" {
		t.Errorf("failed: %d %s", r.status, r.body)
	}
	cr.set("", errInternal("dial tcp 10.0.0.1:443: connection refused; token sk-do-not-show"))
	r = headers()
	if p := r.problem(t); r.status != 500 || p.Code != api.CodeInternal || strings.Contains(string(r.body), "sk-do-not-show") || strings.Contains(string(r.body), "10.0.0.1") {
		t.Errorf("internal: %d %s", r.status, r.body)
	}
	if !strings.Contains(h.logs.String(), "connection refused") {
		t.Error("the internal error is not in the log")
	}
	r = h.do("POST", "/v1/credentials/anthropic/refresh", "", "")
	if r.status != 500 {
		t.Errorf("refresh with an internal error: %d %s", r.status, r.body)
	}
	cr.set("", contextDeadline{})
	r = h.do("POST", "/v1/credentials/anthropic/refresh", "", "")
	if p := r.problem(t); r.status != 503 || p.Code != api.CodeCredentialUnavailable || r.header.Get("Retry-After") != "1" {
		t.Errorf("refresh timed out: %d %s", r.status, r.body)
	}
	cr.set("", nil)
	r = h.do("POST", "/v1/credentials/anthropic/refresh", "", "")
	var st api.CredentialStatus
	r.decode(t, &st)
	if r.status != 200 || st.Name != "anthropic" || st.State != api.StateReady {
		t.Errorf("refresh: %d %s", r.status, r.body)
	}

	// A lease whose credential a reload removed is gone for good.
	delete(h.creds, "anthropic")
	r = headers()
	if p := r.problem(t); r.status != 410 || p.Code != api.CodeLeaseRevoked {
		t.Errorf("credential removed: %d %s", r.status, r.body)
	}
}

type errInternal string

func (e errInternal) Error() string { return string(e) }

// contextDeadline wraps context.DeadlineExceeded as a source might.
type contextDeadline struct{}

func (contextDeadline) Error() string { return "waiting for a token: context deadline exceeded" }
func (contextDeadline) Unwrap() error { return errDeadline }

func TestListsAndDelegates(t *testing.T) {
	var sawCaller Caller
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawCaller, _ = CallerFromContext(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("awf_up 1\n")) })
	h := newHarness(t, harnessOpts{events: events, metrics: metrics})
	l := h.create(`{"credential":"open"}`)
	r := h.do("GET", "/v1/leases", "", "")
	var list api.LeaseList
	r.decode(t, &list)
	if r.status != 200 || len(list.Leases) != 1 || list.Leases[0].ID != l.ID {
		t.Errorf("leases: %d %s", r.status, r.body)
	}
	r = h.do("GET", "/v1/credentials", "", "")
	var creds api.CredentialList
	r.decode(t, &creds)
	if len(creds.Credentials) != 4 {
		t.Errorf("admin sees %d credentials", len(creds.Credentials))
	}
	if r = h.do("GET", "/metrics", "", ""); r.status != 200 || string(r.body) != "awf_up 1\n" {
		t.Errorf("metrics: %d %s", r.status, r.body)
	}
	if r = h.do("GET", "/v1/events", "", ""); r.status != http.StatusTeapot || sawCaller.UID != 0 {
		t.Errorf("events: %d, caller %+v", r.status, sawCaller)
	}
	other := h.as(callerUID(1001), "GET", "/v1/events", "", "")
	if other.status != http.StatusTeapot || sawCaller.UID != 1001 {
		t.Errorf("events as 1001: %d, caller %+v", other.status, sawCaller)
	}

	// Without handlers both answer 404 problems; identities too.
	h2 := newHarness(t, harnessOpts{noIDs: true})
	for _, path := range []string{"/metrics", "/v1/events"} {
		r := h2.do("GET", path, "", "")
		if p := r.problem(t); r.status != 404 || p.Code != api.CodeNotFound {
			t.Errorf("%s without a handler: %d %s", path, r.status, r.body)
		}
	}
	r = h2.do("PUT", "/v1/identities/github", `{"request_url":"https://x","request_token":"t"}`, "")
	if p := r.problem(t); r.status != 404 || p.Code != api.CodeUnknownIdentity {
		t.Errorf("identities without a source: %d %s", r.status, r.body)
	}
}

func TestIdentities(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	reg := `{"request_url":"https://pipelines.actions.githubusercontent.com/x","request_token":"ghs_SECRETTOKEN"}`
	r := h.do("PUT", "/v1/identities/github", reg, "")
	var id api.Identity
	r.decode(t, &id)
	if r.status != 200 || !id.Registered || id.Name != "github" {
		t.Errorf("register: %d %s", r.status, r.body)
	}
	if r := h.as(callerUID(1001), "DELETE", "/v1/identities/github", "", ""); r.status != 200 {
		t.Errorf("clear as an allowed uid: %d %s", r.status, r.body)
	}
	cases := []struct {
		caller       uint32
		method, path string
		body         string
		status       int
		code         string
	}{
		{0, "PUT", "/v1/identities/nope", reg, 404, api.CodeUnknownIdentity},
		{0, "PUT", "/v1/identities/a$b", reg, 400, api.CodeBadRequest},
		{0, "PUT", "/v1/identities/github", `{"request_url":"x","bogus":1}`, 400, api.CodeUnknownField},
		{0, "PUT", "/v1/identities/github", "", 400, api.CodeBadRequest},
		{2000, "PUT", "/v1/identities/github", reg, 403, api.CodeForbidden},
		{2000, "DELETE", "/v1/identities/github", "", 403, api.CodeForbidden},
	}
	for _, c := range cases {
		r := h.as(callerUID(c.caller), c.method, c.path, c.body, "")
		if p := r.problem(t); r.status != c.status || p.Code != c.code {
			t.Errorf("uid %d %s %s: %d %s, want %d %s", c.caller, c.method, c.path, r.status, r.body, c.status, c.code)
		}
	}
	if strings.Contains(h.logs.String(), "ghs_SECRETTOKEN") {
		t.Error("the request token reached the log")
	}
}

func TestProblemJSONShape(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	r := h.do("GET", "/v1/leases/3fa85f64-5717-4562-b3fc-2c963f66afa6", "", "")
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": api.ProblemTypeBase + "unknown_lease", "title": "Unknown lease", "status": float64(404),
		"detail": "no lease 3fa85f64-5717-4562-b3fc-2c963f66afa6", "code": "unknown_lease"}
	if len(raw) != len(want) {
		t.Errorf("problem = %v, want %v", raw, want)
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("problem[%s] = %v, want %v", k, raw[k], v)
		}
	}
}
