package azure

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

const (
	tenant = "11111111-2222-3333-4444-555555555555"
	client = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

// clouds are the per-cloud values broker/config fills (protocols.md §5).
var clouds = map[string]struct{ aud, scope string }{
	"public":       {"api://AzureADTokenExchange", "https://cognitiveservices.azure.com/.default"},
	"usgovernment": {"api://AzureADTokenExchangeUSGov", "https://cognitiveservices.azure.us/.default"},
}

type env struct {
	gh    *fake.GitHub
	entra *fake.Azure
	subj  *identity.GitHubActions
}

func fastHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
}

func newEnv(t *testing.T, cloud string) *env {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	c := clouds[cloud]
	entra := fake.NewAzure(fake.AzureOptions{GitHub: gh, TenantID: tenant, ClientID: client, Audience: c.aud, Scope: c.scope})
	t.Cleanup(entra.Close)
	subj, err := identity.NewGitHubActions(identity.GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: gh, entra: entra, subj: subj}
}

func (e *env) prov(t *testing.T, cloud string, mod func(*Config)) *Provider {
	t.Helper()
	c := clouds[cloud]
	cfg := Config{Azure: settings.Azure{TenantID: tenant, ClientID: client, TokenURL: e.entra.TokenURL(), Audience: c.aud, Scope: c.scope}, HTTP: fastHTTP()}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func audOf(t *testing.T, jwt string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
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

func TestWireContract(t *testing.T) {
	for cloud, c := range clouds {
		t.Run(cloud, func(t *testing.T) {
			e := newEnv(t, cloud)
			p := e.prov(t, cloud, nil)
			tok, err := p.Exchange(context.Background(), e.subj)
			if err != nil {
				t.Fatal(err)
			}
			if !e.entra.Valid(tok.Value.Reveal()) || tok.Lifetime != 3599*time.Second {
				t.Fatalf("token valid=%v lifetime=%v", e.entra.Valid(tok.Value.Reveal()), tok.Lifetime)
			}
			if len(tok.RequestID) != 36 {
				t.Errorf("request id %q is not the x-ms-request-id", tok.RequestID)
			}
			reqs := e.entra.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Path != "/"+tenant+"/oauth2/v2.0/token" {
				t.Errorf("path = %s", r.Path)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("content-type = %q", ct)
			}
			jwt := e.gh.Issued()[0]
			want := "client_assertion=" + jwt +
				"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" +
				"&client_id=" + client + "&grant_type=client_credentials&scope=" + url.QueryEscape(c.scope)
			if string(r.Body) != want {
				t.Errorf("body =\n%s\nwant\n%s", r.Body, want)
			}
			if aud := audOf(t, jwt); aud != c.aud {
				t.Errorf("assertion aud = %q, want %q", aud, c.aud)
			}
			g, _ := p.Headers(&tok, &provider.Request{Headers: map[string]string{"api-key": "placeholder"}})
			if g.Set["authorization"] != "Bearer "+tok.Value.Reveal() || len(g.Set) != 1 || len(g.Remove) != 1 || g.Remove[0] != "api-key" {
				t.Errorf("headers: %d set, remove %v", len(g.Set), g.Remove)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name     string
		fault    fake.Fault
		kind     provider.Kind
		status   int
		code, in string
		requests int
	}{
		{"invalid_client 700213", fake.FaultInvalidClient, provider.Permanent, 401, "invalid_client", "AADSTS700213", 1},
		{"no federated credential 70021", fake.FaultNoFederatedCredential, provider.Permanent, 400, "invalid_request", "AADSTS70021", 1},
		{"app not in tenant 700016", fake.FaultAppNotFound, provider.Permanent, 400, "unauthorized_client", "AADSTS700016", 1},
		{"tenant not found 90002", fake.FaultTenantNotFound, provider.Permanent, 400, "invalid_request", "AADSTS90002", 1},
		{"invalid_scope", fake.FaultInvalidScope, provider.Permanent, 400, "invalid_scope", "AADSTS70011", 1},
		{"assertion time range twice", fake.FaultAssertionTime, provider.Transient, 400, "invalid_client", "AADSTS700024", 2},
		{"temporarily_unavailable", fake.FaultTemporarilyUnavailable, provider.Transient, 503, "temporarily_unavailable", "", 3},
		{"429", fake.Fault429, provider.Transient, 429, "temporarily_unavailable", "", 3},
		{"500", fake.Fault500, provider.Transient, 500, "server_error", "", 3},
		{"malformed", fake.FaultMalformed, provider.Transient, 200, "malformed_response", "invalid JSON", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "public")
			e.entra.Fail(c.fault, -1)
			_, err := e.prov(t, "public", nil).Exchange(context.Background(), e.subj)
			pe, ok := provider.AsError(err)
			if !ok {
				t.Fatalf("err = %v", err)
			}
			if pe.Kind != c.kind || pe.Status != c.status || pe.Code != c.code || !strings.Contains(err.Error(), c.in) {
				t.Errorf("got kind=%v status=%d code=%q text=%q", pe.Kind, pe.Status, pe.Code, err)
			}
			if c.status >= 400 && pe.RequestID == "" {
				t.Error("no request id captured from the refusal")
			}
			if n := len(e.entra.Requests()); n != c.requests {
				t.Errorf("%d requests, want %d", n, c.requests)
			}
		})
	}
}

func TestAssertionTimeRemintsOnce(t *testing.T) {
	e := newEnv(t, "public")
	e.entra.Fail(fake.FaultAssertionTime, 1)
	if _, err := e.prov(t, "public", nil).Exchange(context.Background(), e.subj); err != nil {
		t.Fatalf("AADSTS700024 not re-minted: %v", err)
	}
	if e.gh.Mints() != 2 || e.entra.Exchanges() != 1 {
		t.Errorf("mints=%d exchanges=%d, want 2 and 1", e.gh.Mints(), e.entra.Exchanges())
	}
}

// The fake refuses what Entra refuses: real checks, no injected faults.
func TestFakeIsStrict(t *testing.T) {
	cases := []struct {
		name  string
		cloud string
		mod   func(*Config)
		code  string
		in    string
	}{
		{"public audience in the US government cloud", "usgovernment", func(c *Config) { c.Audience = clouds["public"].aud }, "invalid_client", "AADSTS700212"},
		{"other client id", "public", func(c *Config) { c.ClientID = "00000000-0000-0000-0000-000000000000" }, "unauthorized_client", "AADSTS700016"},
		{"other scope", "public", func(c *Config) { c.Scope = "https://management.azure.com/.default" }, "invalid_scope", "AADSTS70011"},
		{"other tenant", "public", func(c *Config) {
			c.TokenURL = strings.Replace(c.TokenURL, tenant, "99999999-0000-0000-0000-000000000000", 1)
		}, "invalid_request", "AADSTS90002"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.cloud)
			_, err := e.prov(t, c.cloud, c.mod).Exchange(context.Background(), e.subj)
			pe, ok := provider.AsError(err)
			if !ok || pe.Kind != provider.Permanent || pe.Code != c.code || !strings.Contains(err.Error(), c.in) {
				t.Fatalf("err = %v, want permanent %s %s", err, c.code, c.in)
			}
		})
	}
	e := newEnv(t, "public")
	jwt, err := e.subj.Mint(context.Background(), clouds["public"].aud)
	if err != nil {
		t.Fatal(err)
	}
	p := e.prov(t, "public", nil)
	if _, err := p.exchangeOnce(context.Background(), fixedSubject{jwt}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.exchangeOnce(context.Background(), fixedSubject{jwt}); !provider.IsPermanent(err) || !strings.Contains(err.Error(), "jti") {
		t.Fatalf("reused assertion: %v", err)
	}
}

type fixedSubject struct{ v secret.Value }

func (f fixedSubject) Mint(context.Context, string) (secret.Value, error) { return f.v, nil }

func TestQuotedExpiresIn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","access_token":"x"}`)
	}))
	defer srv.Close()
	p, err := New(Config{Azure: settings.Azure{TenantID: tenant, ClientID: client, TokenURL: srv.URL + "/t/oauth2/v2.0/token", Audience: "a", Scope: "s"}, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Exchange(context.Background(), fixedSubject{secret.New("a.b.c")})
	if err != nil || tok.Lifetime != 3599*time.Second {
		t.Fatalf("lifetime %v err %v", tok.Lifetime, err)
	}
}

func TestNoSecretInErrors(t *testing.T) {
	e := newEnv(t, "public")
	p := e.prov(t, "public", nil)
	var texts []string
	for _, f := range []fake.Fault{fake.FaultInvalidClient, fake.FaultAssertionTime, fake.FaultMalformed, fake.Fault500} {
		e.entra.Fail(f, -1)
		_, err := p.Exchange(context.Background(), e.subj)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	e.entra.Reset()
	if _, err := p.Exchange(context.Background(), e.subj); err != nil {
		t.Fatal(err)
	}
	for _, txt := range texts {
		for _, s := range append(e.gh.Issued(), e.entra.Tokens()...) {
			if strings.Contains(txt, s) {
				t.Fatalf("error text leaks a secret: %s", txt)
			}
		}
	}
}
