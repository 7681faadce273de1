package gcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

const (
	wip = "projects/123456789/locations/global/workloadIdentityPools/gh-pool/providers/gh-provider"
	sa  = "agent@proj-1.iam.gserviceaccount.com"
)

type env struct {
	gh   *fake.GitHub
	gcp  *fake.GCP
	subj *identity.GitHubActions
}

func fastHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
}

func newEnv(t *testing.T, opts fake.GCPOptions) *env {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	opts.GitHub = gh
	if opts.WorkloadIdentityProvider == "" {
		opts.WorkloadIdentityProvider = wip
	}
	if opts.ServiceAccount == "" {
		opts.ServiceAccount = sa
	}
	g := fake.NewGCP(opts)
	t.Cleanup(g.Close)
	subj, err := identity.NewGitHubActions(identity.GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: gh, gcp: g, subj: subj}
}

// prov returns a provider against the fake; mod adjusts its config.
func (e *env) prov(t *testing.T, mod func(*Config)) *Provider {
	t.Helper()
	cfg := Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, TokenURL: e.gcp.TokenURL(), ImpersonationURL: e.gcp.ImpersonationURL()}, HTTP: fastHTTP()}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func impersonate(c *Config) { c.ServiceAccount = sa }

// audOf returns a JWT's aud claim.
func audOf(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Aud string `json:"aud"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Aud
}

func TestFederatedWireContract(t *testing.T) {
	e := newEnv(t, fake.GCPOptions{})
	tok, err := e.prov(t, nil).Exchange(context.Background(), e.subj)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Value.Reveal(), fake.GCPFederatedPrefix) || !e.gcp.Valid(tok.Value.Reveal()) {
		t.Fatal("exchange returned a token STS did not mint")
	}
	if tok.Lifetime != 3599*time.Second {
		t.Errorf("lifetime = %v, want 3599s", tok.Lifetime)
	}
	reqs := e.gcp.STSRequests()
	if len(reqs) != 1 || len(e.gcp.IAMRequests()) != 0 {
		t.Fatalf("%d STS and %d IAM requests, want 1 and 0", len(reqs), len(e.gcp.IAMRequests()))
	}
	jwt := e.gh.Issued()[0]
	want := `{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange",` +
		`"audience":"//iam.googleapis.com/` + wip + `",` +
		`"scope":"https://www.googleapis.com/auth/cloud-platform",` +
		`"requested_token_type":"urn:ietf:params:oauth:token-type:access_token",` +
		`"subject_token_type":"urn:ietf:params:oauth:token-type:jwt",` +
		`"subject_token":"` + jwt + `"}`
	if got := string(reqs[0].Body); got != want {
		t.Errorf("STS body =\n%s\nwant\n%s", got, want)
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
	if aud := audOf(t, jwt); aud != "https://iam.googleapis.com/"+wip {
		t.Errorf("subject JWT aud = %q", aud)
	}
	g, _ := e.prov(t, nil).Headers(&tok, &provider.Request{})
	if g.Set["authorization"] != "Bearer "+tok.Value.Reveal() || len(g.Set) != 1 || len(g.Remove) != 1 || g.Remove[0] != "x-goog-api-key" {
		t.Errorf("headers = %d set, remove %v", len(g.Set), g.Remove)
	}
}

func TestImpersonationWireContract(t *testing.T) {
	cases := []struct {
		name     string
		lifetime time.Duration
		max      time.Duration
		wire     string
	}{
		{"default lifetime", 0, 0, "3600s"},
		{"extended lifetime", 12 * time.Hour, 12 * time.Hour, "43200s"},
		{"short lifetime", 15 * time.Minute, 0, "900s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, fake.GCPOptions{MaxLifetime: c.max})
			p := e.prov(t, func(cfg *Config) { impersonate(cfg); cfg.Lifetime = c.lifetime })
			tok, err := p.Exchange(context.Background(), e.subj)
			if err != nil {
				t.Fatal(err)
			}
			if !e.gcp.ValidAccess(tok.Value.Reveal()) {
				t.Fatal("exchange did not return the service account's token")
			}
			want := c.lifetime
			if want == 0 {
				want = time.Hour
			}
			// Counted from the answer's Date (whole seconds): at most a second short.
			if tok.Lifetime > want || tok.Lifetime < want-2*time.Second {
				t.Errorf("lifetime = %v, want about %v", tok.Lifetime, want)
			}
			sts, iam := e.gcp.STSRequests(), e.gcp.IAMRequests()
			if len(sts) != 1 || len(iam) != 1 {
				t.Fatalf("%d STS and %d IAM requests", len(sts), len(iam))
			}
			r := iam[0]
			if r.Path != "/v1/projects/-/serviceAccounts/"+sa+":generateAccessToken" {
				t.Errorf("path = %s", r.Path)
			}
			fed := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !strings.HasPrefix(fed, fake.GCPFederatedPrefix) || !e.gcp.Valid(fed) {
				t.Error("impersonation did not carry the federated token STS issued")
			}
			body := `{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"` + c.wire + `","delegates":[]}`
			if string(r.Body) != body {
				t.Errorf("IAM body = %s\nwant %s", r.Body, body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type = %q", ct)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name      string
		sts, iam  fake.Fault
		imp       bool
		kind      provider.Kind
		status    int
		code, in  string
		retryWait time.Duration
	}{
		{"sts 500", fake.Fault500, 0, false, provider.Transient, 500, "server_error", "internal error", 0},
		{"sts 429", fake.Fault429, 0, false, provider.Transient, 429, "rate_limit_exceeded", "", time.Second},
		{"sts invalid_grant", fake.FaultInvalidGrant, 0, false, provider.Permanent, 400, "invalid_grant", "expected audience", 0},
		{"sts unauthorized_client", fake.FaultUnauthorizedClient, 0, false, provider.Permanent, 400, "unauthorized_client", "attribute condition", 0},
		{"sts invalid_target", fake.FaultInvalidTarget, 0, false, provider.Permanent, 400, "invalid_target", "pool or provider", 0},
		{"sts invalid_request", fake.FaultInvalidRequest, 0, false, provider.Permanent, 400, "invalid_request", "audience", 0},
		{"sts malformed", fake.FaultMalformed, 0, false, provider.Transient, 200, "malformed_response", "invalid JSON", 0},
		{"iam permission denied", 0, fake.FaultPermissionDenied, true, provider.Permanent, 403, "PERMISSION_DENIED", "getAccessToken", 0},
		{"iam invalid argument", 0, fake.FaultInvalidArgument, true, provider.Permanent, 400, "INVALID_ARGUMENT", "invalid argument", 0},
		{"iam unavailable", 0, fake.FaultUnavailable, true, provider.Transient, 503, "UNAVAILABLE", "", 0},
		{"iam 500", 0, fake.Fault500, true, provider.Transient, 500, "INTERNAL", "", 0},
		{"iam 429", 0, fake.Fault429, true, provider.Transient, 429, "RESOURCE_EXHAUSTED", "", time.Second},
		{"iam malformed", 0, fake.FaultMalformed, true, provider.Transient, 200, "malformed_response", "", 0},
		{"iam without expireTime", 0, fake.FaultNoExpireTime, true, provider.Transient, 200, "malformed_response", "no expireTime", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, fake.GCPOptions{})
			var mod func(*Config)
			if c.imp {
				mod = impersonate
			}
			if c.sts != 0 {
				e.gcp.FailSTS(c.sts, -1)
			}
			if c.iam != 0 {
				e.gcp.FailIAM(c.iam, -1)
			}
			_, err := e.prov(t, mod).Exchange(context.Background(), e.subj)
			pe, ok := provider.AsError(err)
			if !ok {
				t.Fatalf("err = %v, want *provider.Error", err)
			}
			if pe.Kind != c.kind || pe.Status != c.status || pe.Code != c.code || !strings.Contains(err.Error(), c.in) || pe.RetryAfter != c.retryWait {
				t.Errorf("got kind=%v status=%d code=%q retry-after=%v text=%q", pe.Kind, pe.Status, pe.Code, pe.RetryAfter, err)
			}
			// Permanent refusals are never retried; transient statuses are.
			n := len(e.gcp.STSRequests()) + len(e.gcp.IAMRequests())
			base := 1
			if c.imp {
				base = 2
			}
			if c.kind == provider.Permanent && n != base {
				t.Errorf("%d requests for a permanent refusal, want %d", n, base)
			}
			if c.kind == provider.Transient && c.status >= 429 && n != base+2 {
				t.Errorf("%d requests for a transient status, want %d (two retries)", n, base+2)
			}
		})
	}
}

// The fake refuses what the real endpoints refuse: these are real checks,
// not injected faults.
func TestFakeIsStrict(t *testing.T) {
	cases := []struct {
		name string
		opts fake.GCPOptions
		mod  func(*Config)
		code string
	}{
		{"jwt audience not the provider's", fake.GCPOptions{}, func(c *Config) { c.Audience = "https://example.com" }, "invalid_grant"},
		{"another provider", fake.GCPOptions{WorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/other"}, nil, "invalid_target"},
		{"attribute condition", fake.GCPOptions{Repository: "other-org/other-repo"}, nil, "unauthorized_client"},
		{"other scope", fake.GCPOptions{}, func(c *Config) { c.Scope = "https://www.googleapis.com/auth/devstorage.read_only" }, "invalid_scope"},
		{"another service account", fake.GCPOptions{}, func(c *Config) { c.ServiceAccount = "other@proj-1.iam.gserviceaccount.com" }, "PERMISSION_DENIED"},
		{"lifetime beyond the org policy", fake.GCPOptions{}, func(c *Config) { impersonate(c); c.Lifetime = 2 * time.Hour }, "INVALID_ARGUMENT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts)
			_, err := e.prov(t, c.mod).Exchange(context.Background(), e.subj)
			pe, ok := provider.AsError(err)
			if !ok || pe.Kind != provider.Permanent || pe.Code != c.code {
				t.Fatalf("err = %v, want permanent %s", err, c.code)
			}
		})
	}
	// A federated token STS never issued does not impersonate.
	e := newEnv(t, fake.GCPOptions{})
	p := e.prov(t, impersonate)
	_, err := p.impersonate(context.Background(), secret.New(fake.GCPFederatedPrefix+"forged"))
	if pe, ok := provider.AsError(err); !ok || pe.Status != 401 || pe.Code != "UNAUTHENTICATED" || pe.Kind != provider.Permanent {
		t.Fatalf("forged federated token: %v", err)
	}
	// A subject token is single-use.
	jwt, err := e.subj.Mint(context.Background(), "https://iam.googleapis.com/"+wip)
	if err != nil {
		t.Fatal(err)
	}
	same := fixedSubject{jwt}
	if _, err := p.federate(context.Background(), same); err != nil {
		t.Fatal(err)
	}
	if _, err := p.federate(context.Background(), same); !provider.IsPermanent(err) || !strings.Contains(err.Error(), "already been used") {
		t.Fatalf("reused subject token: %v", err)
	}
}

type fixedSubject struct{ v secret.Value }

func (f fixedSubject) Mint(context.Context, string) (secret.Value, error) { return f.v, nil }

func TestStaleSubjectRemintsOnce(t *testing.T) {
	e := newEnv(t, fake.GCPOptions{})
	e.gcp.FailSTS(fake.FaultStaleSubject, 1)
	if _, err := e.prov(t, nil).Exchange(context.Background(), e.subj); err != nil {
		t.Fatalf("stale subject not re-minted: %v", err)
	}
	if e.gh.Mints() != 2 || len(e.gcp.STSRequests()) != 2 {
		t.Errorf("mints=%d STS requests=%d, want 2 and 2", e.gh.Mints(), len(e.gcp.STSRequests()))
	}
	e.gcp.FailSTS(fake.FaultStaleSubject, -1)
	_, err := e.prov(t, nil).Exchange(context.Background(), e.subj)
	if !provider.IsPermanent(err) || e.gh.Mints() != 4 {
		t.Errorf("twice stale: %v after %d mints, want permanent after 4", err, e.gh.Mints())
	}
}

// The impersonated lifetime is counted on the upstream's clock: a local
// clock an hour off changes nothing.
func TestLifetimeFromAnswerDate(t *testing.T) {
	var calls atomic.Int32
	skewed := time.Now().Add(-time.Hour).UTC()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			fmt.Fprint(w, `{"access_token":"fed","token_type":"Bearer","expires_in":3599}`)
			return
		}
		w.Header().Set("Date", skewed.Format(http.TimeFormat))
		fmt.Fprintf(w, `{"accessToken":"sa","expireTime":%q}`, skewed.Add(30*time.Minute).Format(time.RFC3339))
	}))
	defer srv.Close()
	p, err := New(Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, TokenURL: srv.URL + "/v1/token", ImpersonationURL: srv.URL, ServiceAccount: sa}, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Exchange(context.Background(), fixedSubject{secret.New("a.b.c")})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Lifetime != 30*time.Minute {
		t.Errorf("lifetime = %v, want 30m", tok.Lifetime)
	}
}

func TestNewRefuses(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"bad provider", Config{GCP: settings.GCP{WorkloadIdentityProvider: "projects/x/pools"}}, "workload_identity_provider"},
		{"https audience form", Config{GCP: settings.GCP{WorkloadIdentityProvider: "//iam.googleapis.com/" + wip}}, "workload_identity_provider"},
		{"bad service account", Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, ServiceAccount: "a/b@c"}}, "service_account"},
		{"lifetime too long", Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, ServiceAccount: sa, Lifetime: 13 * time.Hour}}, "lifetime"},
		{"lifetime not whole seconds", Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, ServiceAccount: sa, Lifetime: 1500 * time.Millisecond}}, "lifetime"},
		{"lifetime without impersonation", Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, Lifetime: time.Hour}}, "only with service_account"},
		{"http token url", Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, TokenURL: "http://sts.googleapis.com/v1/token"}}, "token_url"},
		{"http impersonation url", Config{GCP: settings.GCP{WorkloadIdentityProvider: wip, ServiceAccount: sa, ImpersonationURL: "http://iam.example.com"}}, "impersonation_url"},
	}
	for _, c := range cases {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want it to name %s", c.name, err, c.msg)
		}
	}
}

func TestNoSecretInErrors(t *testing.T) {
	e := newEnv(t, fake.GCPOptions{})
	p := e.prov(t, impersonate)
	var texts []string
	for _, f := range []fake.Fault{fake.FaultInvalidGrant, fake.FaultMalformed, fake.Fault500} {
		e.gcp.FailSTS(f, -1)
		_, err := p.Exchange(context.Background(), e.subj)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	e.gcp.Reset()
	for _, f := range []fake.Fault{fake.FaultPermissionDenied, fake.FaultMalformed, fake.FaultNoExpireTime, fake.FaultUnavailable} {
		e.gcp.FailIAM(f, -1)
		_, err := p.Exchange(context.Background(), e.subj)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	secrets := append(e.gh.Issued(), e.gcp.Tokens()...)
	if len(secrets) < 5 {
		t.Fatalf("only %d secrets minted", len(secrets))
	}
	for _, txt := range texts {
		for _, s := range secrets {
			if strings.Contains(txt, s) {
				t.Fatalf("error text leaks a secret: %s", txt)
			}
		}
	}
}
