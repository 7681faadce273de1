package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
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
	idpID  = "idp_01TESTPROVIDER"
	svacID = "svcacct_01TESTACCOUNT"
)

type env struct {
	gh   *fake.GitHub
	oai  *fake.OpenAI
	subj *identity.GitHubActions
}

func fastHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
}

func newEnv(t *testing.T) *env {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	oai := fake.NewOpenAI(fake.OpenAIOptions{GitHub: gh, IdentityProviderID: idpID, ServiceAccountID: svacID})
	t.Cleanup(oai.Close)
	subj, err := identity.NewGitHubActions(identity.GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: gh, oai: oai, subj: subj}
}

func (e *env) prov(t *testing.T, mod func(*Config)) *Provider {
	t.Helper()
	cfg := Config{OpenAI: settings.OpenAI{IdentityProviderID: idpID, ServiceAccountID: svacID, TokenURL: e.oai.TokenURL()}, HTTP: fastHTTP()}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWireContract(t *testing.T) {
	e := newEnv(t)
	p := e.prov(t, nil)
	tok, err := p.Exchange(context.Background(), e.subj)
	if err != nil {
		t.Fatal(err)
	}
	if !e.oai.Valid(tok.Value.Reveal()) || tok.Lifetime != time.Hour || !strings.HasPrefix(tok.RequestID, "req_") {
		t.Fatalf("valid=%v lifetime=%v request id=%q", e.oai.Valid(tok.Value.Reveal()), tok.Lifetime, tok.RequestID)
	}
	reqs := e.oai.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	jwt := e.gh.Issued()[0]
	want := `{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange",` +
		`"subject_token_type":"urn:ietf:params:oauth:token-type:jwt",` +
		`"subject_token":"` + jwt + `",` +
		`"identity_provider_id":"` + idpID + `","service_account_id":"` + svacID + `"}`
	if string(reqs[0].Body) != want {
		t.Errorf("body =\n%s\nwant\n%s", reqs[0].Body, want)
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	var c struct {
		Aud string `json:"aud"`
	}
	if json.Unmarshal(b, &c); c.Aud != "https://api.openai.com/v1" {
		t.Errorf("subject JWT aud = %q", c.Aud)
	}
	g, _ := p.Headers(&tok, &provider.Request{})
	if g.Set["authorization"] != "Bearer "+tok.Value.Reveal() || len(g.Set) != 1 || len(g.Remove) != 0 {
		t.Errorf("headers: %d set, remove %v", len(g.Set), g.Remove)
	}
}

func TestNoExpiresInMeansAnHour(t *testing.T) {
	e := newEnv(t)
	e.oai.Fail(fake.FaultNoExpiresIn, 1)
	tok, err := e.prov(t, nil).Exchange(context.Background(), e.subj)
	if err != nil || tok.Lifetime != 60*time.Minute {
		t.Fatalf("lifetime %v err %v, want 60m", tok.Lifetime, err)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name     string
		fault    fake.Fault
		kind     provider.Kind
		status   int
		code     string
		requests int
	}{
		{"400 invalid_grant", fake.FaultInvalidGrant, provider.Permanent, 400, "invalid_grant", 1},
		{"401 invalid_subject_token", fake.FaultInvalidSubjectToken, provider.Permanent, 401, "invalid_subject_token", 1},
		{"403", fake.FaultForbidden, provider.Permanent, 403, "invalid_grant", 1},
		{"408", fake.FaultTimeout, provider.Transient, 408, "request_timeout", 3},
		{"409", fake.FaultConflict, provider.Transient, 409, "conflict", 1},
		{"429", fake.Fault429, provider.Transient, 429, "rate_limit_exceeded", 3},
		{"500", fake.Fault500, provider.Transient, 500, "server_error", 3},
		{"malformed", fake.FaultMalformed, provider.Transient, 200, "malformed_response", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.oai.Fail(c.fault, -1)
			_, err := e.prov(t, nil).Exchange(context.Background(), e.subj)
			pe, ok := provider.AsError(err)
			if !ok || pe.Kind != c.kind || pe.Status != c.status || pe.Code != c.code || !strings.HasPrefix(pe.RequestID, "req_") {
				t.Fatalf("err = %v (%+v)", err, pe)
			}
			if c.fault == fake.Fault429 && pe.RetryAfter != time.Second {
				t.Errorf("retry-after = %v", pe.RetryAfter)
			}
			if n := len(e.oai.Requests()); n != c.requests {
				t.Errorf("%d requests, want %d", n, c.requests)
			}
		})
	}
}

type fixedSubject struct{ v secret.Value }

func (f fixedSubject) Mint(context.Context, string) (secret.Value, error) { return f.v, nil }

// The fake refuses what OpenAI refuses: real checks, no injected faults.
func TestFakeIsStrict(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*Config)
		status int
		code   string
	}{
		{"other provider", func(c *Config) { c.IdentityProviderID = "idp_other" }, 400, "invalid_grant"},
		{"other service account", func(c *Config) { c.ServiceAccountID = "svcacct_other" }, 403, "invalid_grant"},
		{"other audience", func(c *Config) { c.Audience = "https://example.com" }, 401, "invalid_subject_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.prov(t, c.mod).Exchange(context.Background(), e.subj)
			pe, ok := provider.AsError(err)
			if !ok || pe.Kind != provider.Permanent || pe.Status != c.status || pe.Code != c.code {
				t.Fatalf("err = %v", err)
			}
		})
	}
	e := newEnv(t)
	jwt, err := e.subj.Mint(context.Background(), "https://api.openai.com/v1")
	if err != nil {
		t.Fatal(err)
	}
	p := e.prov(t, nil)
	if _, err := p.Exchange(context.Background(), fixedSubject{jwt}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exchange(context.Background(), fixedSubject{jwt}); !provider.IsPermanent(err) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused subject token: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []Config{{OpenAI: settings.OpenAI{ServiceAccountID: "s"}}, {OpenAI: settings.OpenAI{IdentityProviderID: "i"}}, {OpenAI: settings.OpenAI{IdentityProviderID: "i", ServiceAccountID: "s", TokenURL: "http://auth.openai.com/oauth/token"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestNoSecretInErrors(t *testing.T) {
	e := newEnv(t)
	p := e.prov(t, nil)
	var texts []string
	for _, f := range []fake.Fault{fake.FaultInvalidGrant, fake.FaultInvalidSubjectToken, fake.FaultMalformed, fake.Fault500} {
		e.oai.Fail(f, -1)
		_, err := p.Exchange(context.Background(), e.subj)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	e.oai.Reset()
	if _, err := p.Exchange(context.Background(), e.subj); err != nil {
		t.Fatal(err)
	}
	for _, txt := range texts {
		for _, s := range append(e.gh.Issued(), e.oai.Tokens()...) {
			if strings.Contains(txt, s) {
				t.Fatalf("error text leaks a secret: %s", txt)
			}
		}
	}
}
