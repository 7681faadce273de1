package fake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// post sends a token request with the given header tweak and body.
func post(t *testing.T, a *Anthropic, beta string, body map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", a.TokenURL(), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-beta", beta)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

func TestTokenEndpointIsStrict(t *testing.T) {
	gh, err := NewGitHub(GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	other, _ := NewGitHub(GitHubOptions{})
	defer other.Close()
	a := NewAnthropic(AnthropicOptions{GitHub: gh, FederationRuleID: "fdrl_x", OrganizationID: "org"})
	defer a.Close()
	body := func(assertion string, mod func(map[string]any)) map[string]any {
		m := map[string]any{"grant_type": grantJWT, "assertion": assertion, "federation_rule_id": "fdrl_x", "organization_id": "org"}
		if mod != nil {
			mod(m)
		}
		return m
	}
	good := gh.MintJWT("https://api.anthropic.com")
	cases := []struct {
		name   string
		beta   string
		body   map[string]any
		status int
		inBody string
	}{
		{"wrong beta", "oauth-2025-04-20", body(gh.MintJWT("https://api.anthropic.com"), nil), 400, "anthropic-beta"},
		{"wrong audience", exchangeBeta, body(gh.MintJWT("https://example.com"), nil), 401, "authentication_error"},
		{"other issuer's key", exchangeBeta, body(other.MintJWT("https://api.anthropic.com"), nil), 401, "authentication_error"},
		{"missing rule", exchangeBeta, body(gh.MintJWT("https://api.anthropic.com"), func(m map[string]any) { delete(m, "federation_rule_id") }), 400, "federation_rule_id is required"},
		{"empty workspace", exchangeBeta, body(gh.MintJWT("https://api.anthropic.com"), func(m map[string]any) { m["workspace_id"] = "" }), 400, "workspace_id"},
		{"wrong grant", exchangeBeta, body(gh.MintJWT("https://api.anthropic.com"), func(m map[string]any) { m["grant_type"] = "client_credentials" }), 400, "grant_type"},
		{"good", exchangeBeta, body(good, nil), 200, TokenPrefix},
		{"reused jti", exchangeBeta, body(good, nil), 401, "jti_reused"},
	}
	for _, c := range cases {
		status, out := post(t, a, c.beta, c.body)
		if status != c.status || !strings.Contains(out, c.inBody) {
			t.Errorf("%s: %d %s, want %d containing %q", c.name, status, out, c.status, c.inBody)
		}
	}
	if a.Exchanges() != 1 {
		t.Errorf("exchanges = %d", a.Exchanges())
	}
	expired, _ := NewGitHub(GitHubOptions{TTL: -time.Minute})
	defer expired.Close()
	a2 := NewAnthropic(AnthropicOptions{GitHub: expired, FederationRuleID: "fdrl_x", OrganizationID: "org"})
	defer a2.Close()
	if status, out := post(t, a2, exchangeBeta, body(expired.MintJWT("https://api.anthropic.com"), nil)); status != 401 || !strings.Contains(out, "expired") {
		t.Errorf("expired assertion: %d %s", status, out)
	}
}

func TestGitHubEndpointChecksRequestToken(t *testing.T) {
	gh, _ := NewGitHub(GitHubOptions{})
	defer gh.Close()
	req, _ := http.NewRequest("GET", gh.RequestURL()+"&audience=x", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || gh.Mints() != 0 {
		t.Fatalf("wrong request token: %d, mints %d", resp.StatusCode, gh.Mints())
	}
}

// TestJobsAreTraceable: each job's request token mints JWTs stamped with
// its run id, a token exchanged from one remembers it, and a request token
// of no job is refused.
func TestJobsAreTraceable(t *testing.T) {
	gh, _ := NewGitHub(GitHubOptions{})
	defer gh.Close()
	a := NewAnthropic(AnthropicOptions{GitHub: gh, FederationRuleID: "fdrl_1", OrganizationID: "org"})
	defer a.Close()
	mint := func(tok string) (int, string) {
		req, _ := http.NewRequest("GET", gh.RequestURL()+"&audience=https://api.anthropic.com", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Value string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Value
	}
	for _, c := range []struct{ token, run string }{
		{gh.AddJob("1001").Reveal(), "1001"},
		{gh.AddJob("1002").Reveal(), "1002"},
		{gh.RequestToken().Reveal(), "42"},
	} {
		status, jwt := mint(c.token)
		if status != 200 {
			t.Fatalf("mint for run %s: %d", c.run, status)
		}
		code, body := post(t, a, exchangeBeta, map[string]any{"grant_type": grantJWT, "assertion": jwt, "federation_rule_id": "fdrl_1", "organization_id": "org"})
		if code != 200 {
			t.Fatalf("exchange: %d %s", code, body)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(body), &tok)
		if got := a.RunIDOf(tok.AccessToken); got != c.run {
			t.Errorf("token from run %q, want %q", got, c.run)
		}
	}
	if status, _ := mint("not-a-job"); status != 401 {
		t.Errorf("a request token of no job: %d", status)
	}
}
