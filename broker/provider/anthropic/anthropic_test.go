package anthropic

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

const (
	ruleID = "fdrl_01TESTRULE"
	orgID  = "00000000-0000-4000-8000-000000000001"
	svacID = "svac_01TESTACCOUNT"
)

type env struct {
	gh     *fake.GitHub
	tokens *fake.Anthropic
	subj   *identity.GitHubActions
	prov   *Provider
}

func fastHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
}

func newEnv(t *testing.T, workspace string) *env {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	tokens := fake.NewAnthropic(fake.AnthropicOptions{GitHub: gh, FederationRuleID: ruleID, OrganizationID: orgID, ServiceAccountID: svacID})
	t.Cleanup(tokens.Close)
	subj, err := identity.NewGitHubActions(identity.GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Anthropic: settings.Anthropic{FederationRuleID: ruleID, OrganizationID: orgID, ServiceAccountID: svacID, WorkspaceID: workspace, Audience: "https://api.anthropic.com", TokenURL: tokens.TokenURL()}, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: gh, tokens: tokens, subj: subj, prov: p}
}

func TestExchangeWireContract(t *testing.T) {
	for _, ws := range []string{"", "wrkspc_01TEST"} {
		t.Run("workspace="+ws, func(t *testing.T) {
			e := newEnv(t, ws)
			tok, err := e.prov.Exchange(context.Background(), e.subj)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok.Value.Reveal(), fake.TokenPrefix) || !e.tokens.Valid(tok.Value.Reveal()) {
				t.Fatal("exchange returned a token the endpoint did not mint")
			}
			if tok.Lifetime != time.Hour || !strings.HasPrefix(tok.RequestID, "req_") {
				t.Errorf("lifetime %v request id %q", tok.Lifetime, tok.RequestID)
			}
			reqs := e.tokens.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if got := r.Header.Get("anthropic-beta"); got != "oauth-2025-04-20,oidc-federation-2026-04-01" {
				t.Errorf("anthropic-beta = %q", got)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("content-type = %q", got)
			}
			want := map[string]any{
				"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": r.Body["assertion"],
				"federation_rule_id": ruleID, "organization_id": orgID, "service_account_id": svacID,
			}
			if ws != "" {
				want["workspace_id"] = ws
			}
			if fmt.Sprint(r.Body) != fmt.Sprint(want) {
				t.Errorf("body = %v\nwant   %v", r.Body, want)
			}
			if a, _ := r.Body["assertion"].(string); strings.Count(a, ".") != 2 {
				t.Error("assertion is not a JWT")
			}
		})
	}
}

// answer serves one canned token-endpoint answer.
func answer(t *testing.T, status int, ctype, body string) *Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Request-Id", "req_canned")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	p, err := New(Config{Anthropic: settings.Anthropic{FederationRuleID: ruleID, OrganizationID: orgID, Audience: "aud", TokenURL: srv.URL + "/v1/oauth/token"}, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fixedSubject struct{ jwt string }

func (f fixedSubject) Mint(context.Context, string) (secret.Value, error) {
	return secret.New(f.jwt), nil
}

const placeholderJWT = "aGVhZGVy.cGF5bG9hZA.c2ln"

func TestBadAnswers(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		ctype      string
		body       string
		wantKind   provider.Kind
		wantCode   string
		wantInText string
		lifetime   time.Duration
	}{
		{"no expires_in: an hour, as the api-proxy", 200, "application/json", `{"access_token":"x","token_type":"Bearer"}`, 0, "", "", provider.DefaultLifetime},
		{"zero expires_in", 200, "application/json", `{"access_token":"x","expires_in":0}`, provider.Transient, "malformed_response", "zero or negative", 0},
		{"negative expires_in", 200, "application/json", `{"access_token":"x","expires_in":-5}`, provider.Transient, "malformed_response", "zero or negative", 0},
		{"absurd expires_in as stated, for the cache to clamp", 200, "application/json", `{"access_token":"x","expires_in":999999}`, 0, "", "", 999999 * time.Second},
		{"overflowing expires_in saturates", 200, "application/json", `{"access_token":"x","expires_in":1000000000000}`, 0, "", "", time.Duration(math.MaxInt64)},
		{"html", 200, "text/html", `<html>oops</html>`, provider.Transient, "malformed_response", "parse response", 0},
		{"truncated", 200, "application/json", `{"access_token":"x","expi`, provider.Transient, "malformed_response", "parse response", 0},
		{"token_type mac", 200, "application/json", `{"access_token":"x","token_type":"mac","expires_in":60}`, provider.Transient, "malformed_response", "token_type", 0},
		{"no access_token", 200, "application/json", `{"expires_in":60}`, provider.Transient, "malformed_response", "missing access_token", 0},
		{"401 api shape", 401, "application/json", `{"type":"error","error":{"type":"authentication_error","message":"Authentication failed"},"request_id":"req_x"}`, provider.Permanent, "authentication_error", "status 401", 0},
		{"400 rfc6749 shape", 400, "application/json", `{"error":"invalid_grant","error_description":"bad assertion","assertion":"ECHOED"}`, provider.Permanent, "invalid_grant", "bad assertion", 0},
		{"502 html", 502, "text/html", `<html>bad gateway</html>`, provider.Transient, "Bad Gateway", "[redacted; not a JSON error response]", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := answer(t, c.status, c.ctype, c.body)
			tok, err := p.Exchange(context.Background(), fixedSubject{placeholderJWT})
			if c.lifetime != 0 {
				if err != nil || tok.Lifetime != c.lifetime {
					t.Fatalf("lifetime %v err %v, want %v", tok.Lifetime, err, c.lifetime)
				}
				return
			}
			pe, ok := provider.AsError(err)
			if !ok {
				t.Fatalf("err = %v, want *provider.Error", err)
			}
			if pe.Kind != c.wantKind || pe.Code != c.wantCode || !strings.Contains(err.Error(), c.wantInText) {
				t.Errorf("got kind=%v code=%q text=%q", pe.Kind, pe.Code, err.Error())
			}
			for _, s := range []string{placeholderJWT, "ECHOED"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks %q: %s", s, err)
				}
			}
		})
	}
}

func TestRetriesTransientNever4xx(t *testing.T) {
	e := newEnv(t, "")
	e.tokens.Fail(fake.Fault500, 2)
	if _, err := e.prov.Exchange(context.Background(), e.subj); err != nil {
		t.Fatalf("two 500s then success: %v", err)
	}
	if n := len(e.tokens.Requests()); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
	e.tokens.Fail(fake.Fault429, -1)
	_, err := e.prov.Exchange(context.Background(), e.subj)
	pe, ok := provider.AsError(err)
	if !ok || pe.Kind != provider.Transient || pe.Status != 429 || pe.RetryAfter != time.Second {
		t.Fatalf("429 storm: %v (%+v)", err, pe)
	}
	e.tokens.Fail(fake.FaultDeny401, -1)
	before := len(e.tokens.Requests())
	_, err = e.prov.Exchange(context.Background(), e.subj)
	if !provider.IsPermanent(err) || len(e.tokens.Requests())-before != 1 {
		t.Fatalf("401 retried or not permanent: %v, %d requests", err, len(e.tokens.Requests())-before)
	}
}

// replaySubject hands out its first JWT twice, then fresh ones.
type replaySubject struct {
	mu    sync.Mutex
	inner provider.Subject
	first secret.Value
	n     int
}

func (r *replaySubject) Mint(ctx context.Context, aud string) (secret.Value, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.n <= 2 {
		if r.first.IsZero() {
			v, err := r.inner.Mint(ctx, aud)
			r.first = v
			return v, err
		}
		return r.first, nil
	}
	return r.inner.Mint(ctx, aud)
}

func TestReusedJTIRemintsOnce(t *testing.T) {
	e := newEnv(t, "")
	subj := &replaySubject{inner: e.subj}
	if _, err := e.prov.Exchange(context.Background(), subj); err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.Exchange(context.Background(), subj); err != nil {
		t.Fatalf("reused jti not re-minted: %v", err)
	}
	if subj.n != 3 || e.tokens.Exchanges() != 2 {
		t.Fatalf("mints=%d exchanges=%d, want 3 and 2", subj.n, e.tokens.Exchanges())
	}
}

func TestHeaders(t *testing.T) {
	p := &Provider{}
	tok := &provider.Token{Value: secret.New("tok")}
	cases := []struct {
		in       map[string]string
		beta     string
		version  string
		hasVerse bool
	}{
		{map[string]string{}, "oauth-2025-04-20", "2023-06-01", true},
		{map[string]string{"anthropic-beta": "a, b", "anthropic-version": "2024-01-01"}, "a,b,oauth-2025-04-20", "", false},
		{map[string]string{"anthropic-beta": "oauth-2025-04-20,a,a"}, "oauth-2025-04-20,a", "2023-06-01", true},
		{map[string]string{"anthropic-beta": "a,oauth-2025-04-20"}, "a,oauth-2025-04-20", "2023-06-01", true},
	}
	for _, c := range cases {
		g, err := p.Headers(tok, &provider.Request{Headers: c.in})
		if err != nil {
			t.Fatal(err)
		}
		if g.Set["authorization"] != "Bearer tok" || g.Set["anthropic-beta"] != c.beta {
			t.Errorf("in %v: set = %v", c.in, g.Set)
		}
		if v, ok := g.Set["anthropic-version"]; ok != c.hasVerse || v != c.version {
			t.Errorf("in %v: anthropic-version = %q (%v)", c.in, v, ok)
		}
		if len(g.Remove) != 1 || g.Remove[0] != "x-api-key" {
			t.Errorf("remove = %v", g.Remove)
		}
	}
}

func TestNewRejectsBadTokenURL(t *testing.T) {
	for _, u := range []string{"https://api.anthropic.com/v1/token", "http://api.anthropic.com/v1/oauth/token"} {
		if _, err := New(Config{Anthropic: settings.Anthropic{FederationRuleID: "r", OrganizationID: "o", TokenURL: u}}); err == nil {
			t.Errorf("New accepted %s", u)
		}
	}
}

func TestNoSecretInErrors(t *testing.T) {
	e := newEnv(t, "")
	var errs []string
	for _, f := range []fake.Fault{fake.FaultDeny401, fake.FaultInvalidGrant, fake.FaultHTML, fake.FaultMalformed, fake.FaultTruncated, fake.Fault500} {
		e.tokens.Fail(f, -1)
		_, err := e.prov.Exchange(context.Background(), e.subj)
		if err == nil {
			t.Fatalf("fault %d: no error", f)
		}
		errs = append(errs, err.Error(), fmt.Sprintf("%+v", err))
	}
	e.tokens.Reset()
	if _, err := e.prov.Exchange(context.Background(), e.subj); err != nil {
		t.Fatal(err)
	}
	secrets := append(e.gh.Issued(), e.tokens.Tokens()...)
	secrets = append(secrets, e.gh.RequestToken().Reveal())
	for _, msg := range errs {
		for _, s := range secrets {
			if strings.Contains(msg, s) {
				t.Fatalf("error text leaks a secret: %s", msg)
			}
		}
	}
}
