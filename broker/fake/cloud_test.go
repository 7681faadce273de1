package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testWIP = "projects/42/locations/global/workloadIdentityPools/pool/providers/gh"
	testSA  = "sa@proj.iam.gserviceaccount.com"
)

func newTestGitHub(t *testing.T, ttl time.Duration) *GitHub {
	t.Helper()
	gh, err := NewGitHub(GitHubOptions{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	return gh
}

// cloudPost sends body with ctype (and bearer) and returns the status and the
// error code of the answer ("" on success), in any of the three shapes.
func cloudPost(t *testing.T, u, ctype, bearer, body string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	switch e := m["error"].(type) {
	case string:
		return resp.StatusCode, e, m
	case map[string]any:
		s, _ := e["status"].(string)
		return resp.StatusCode, s, m
	}
	return resp.StatusCode, "", m
}

func jsonBody(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }

// tamper breaks a JWT's signature while keeping its shape.
func tamper(jwt string) string {
	i := strings.LastIndexByte(jwt, '.')
	sig := []byte(jwt[i+1:])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	return jwt[:i+1] + string(sig)
}

func TestGCPFakeIsStrict(t *testing.T) {
	gh := newTestGitHub(t, 0)
	stale := newTestGitHub(t, -time.Minute)
	g := NewGCP(GCPOptions{GitHub: gh, WorkloadIdentityProvider: testWIP, ServiceAccount: testSA})
	defer g.Close()
	aud := "https://iam.googleapis.com/" + testWIP
	good := func(jwt string) map[string]any {
		return map[string]any{"grant_type": gcpGrant, "audience": "//iam.googleapis.com/" + testWIP,
			"scope": "https://www.googleapis.com/auth/cloud-platform", "requested_token_type": gcpAccessType,
			"subject_token_type": gcpJWTType, "subject_token": jwt}
	}
	with := func(k string, v any) map[string]any { m := good(gh.MintJWT(aud)); m[k] = v; return m }
	without := func(k string) map[string]any { m := good(gh.MintJWT(aud)); delete(m, k); return m }
	form := url.Values{"grant_type": {gcpGrant}}.Encode()
	expiredFake := NewGCP(GCPOptions{GitHub: stale, WorkloadIdentityProvider: testWIP})
	defer expiredFake.Close()
	cases := []struct {
		name, url, ctype, body string
		status                 int
		code                   string
	}{
		{"good", g.TokenURL(), "application/json", jsonBody(good(gh.MintJWT(aud))), 200, ""},
		{"form body", g.TokenURL(), "application/x-www-form-urlencoded", form, 400, "invalid_request"},
		{"extra field", g.TokenURL(), "application/json", jsonBody(with("options", "x")), 400, "invalid_request"},
		{"missing scope", g.TokenURL(), "application/json", jsonBody(without("scope")), 400, "invalid_request"},
		{"grant", g.TokenURL(), "application/json", jsonBody(with("grant_type", "client_credentials")), 400, "unsupported_grant_type"},
		{"https audience", g.TokenURL(), "application/json", jsonBody(with("audience", "https://iam.googleapis.com/"+testWIP)), 400, "invalid_request"},
		{"other provider", g.TokenURL(), "application/json", jsonBody(with("audience", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x")), 400, "invalid_target"},
		{"requested type", g.TokenURL(), "application/json", jsonBody(with("requested_token_type", gcpIDType)), 400, "invalid_request"},
		{"subject type", g.TokenURL(), "application/json", jsonBody(with("subject_token_type", "urn:ietf:params:oauth:token-type:saml2")), 400, "invalid_request"},
		{"bad signature", g.TokenURL(), "application/json", jsonBody(good(tamper(gh.MintJWT(aud)))), 400, "invalid_grant"},
		{"jwt audience", g.TokenURL(), "application/json", jsonBody(good(gh.MintJWT("//iam.googleapis.com/" + testWIP))), 400, "invalid_grant"},
		{"expired jwt", expiredFake.TokenURL(), "application/json", jsonBody(good(stale.MintJWT(aud))), 400, "invalid_grant"},
		{"untrusted issuer", g.TokenURL(), "application/json", jsonBody(good(stale.MintJWT(aud))), 400, "invalid_grant"},
	}
	for _, c := range cases {
		if status, code, _ := cloudPost(t, c.url, c.ctype, "", c.body); status != c.status || code != c.code {
			t.Errorf("sts %s: %d %q, want %d %q", c.name, status, code, c.status, c.code)
		}
	}
	// Expiry is its own check, not a side effect of another.
	if _, _, ans := cloudPost(t, expiredFake.TokenURL(), "application/json", "", jsonBody(good(stale.MintJWT(aud)))); !strings.Contains(ans["error_description"].(string), "stale") {
		t.Errorf("expired subject: %v", ans)
	}

	_, _, ans := cloudPost(t, g.TokenURL(), "application/json", "", jsonBody(good(gh.MintJWT(aud))))
	fed, _ := ans["access_token"].(string)
	gen := g.ImpersonationURL() + "/v1/projects/-/serviceAccounts/" + testSA + ":generateAccessToken"
	okBody := `{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"3600s","delegates":[]}`
	iam := []struct {
		name, url, ctype, bearer, body string
		status                         int
		code                           string
	}{
		{"good", gen, "application/json", fed, okBody, 200, ""},
		{"no bearer", gen, "application/json", "", okBody, 401, "UNAUTHENTICATED"},
		{"forged bearer", gen, "application/json", GCPFederatedPrefix + "forged", okBody, 401, "UNAUTHENTICATED"},
		{"other account", strings.Replace(gen, testSA, "x@proj.iam.gserviceaccount.com", 1), "application/json", fed, okBody, 403, "PERMISSION_DENIED"},
		{"wrong method suffix", strings.TrimSuffix(gen, ":generateAccessToken") + ":signJwt", "application/json", fed, okBody, 404, "NOT_FOUND"},
		{"form", gen, "application/x-www-form-urlencoded", fed, "scope=x", 400, "INVALID_ARGUMENT"},
		{"no delegates", gen, "application/json", fed, `{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"3600s"}`, 400, "INVALID_ARGUMENT"},
		{"scope as string", gen, "application/json", fed, `{"scope":"https://www.googleapis.com/auth/cloud-platform","lifetime":"3600s","delegates":[]}`, 400, "INVALID_ARGUMENT"},
		{"lifetime not a duration", gen, "application/json", fed, `{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"3600","delegates":[]}`, 400, "INVALID_ARGUMENT"},
		{"lifetime over the max", gen, "application/json", fed, `{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"3601s","delegates":[]}`, 400, "INVALID_ARGUMENT"},
	}
	for _, c := range iam {
		status, code, ans := cloudPost(t, c.url, c.ctype, c.bearer, c.body)
		if status != c.status || code != c.code {
			t.Errorf("iam %s: %d %q, want %d %q", c.name, status, code, c.status, c.code)
		}
		if c.status == 200 {
			exp, err := time.Parse(time.RFC3339, ans["expireTime"].(string))
			if err != nil || time.Until(exp) < 59*time.Minute || !g.ValidAccess(ans["accessToken"].(string)) {
				t.Errorf("iam answer: %v %v", exp, err)
			}
		}
	}
}

func TestAzureFakeIsStrict(t *testing.T) {
	gh := newTestGitHub(t, 0)
	stale := newTestGitHub(t, -time.Minute)
	a := NewAzure(AzureOptions{GitHub: gh, TenantID: "t1", ClientID: "c1", Subject: "repo:octo-org/octo-repo:ref:refs/heads/main"})
	defer a.Close()
	b := NewAzure(AzureOptions{GitHub: gh, TenantID: "t1", ClientID: "c1", Subject: "repo:octo-org/octo-repo:environment:prod"})
	defer b.Close()
	expired := NewAzure(AzureOptions{GitHub: stale, TenantID: "t1", ClientID: "c1"})
	defer expired.Close()
	const aud = "api://AzureADTokenExchange"
	form := func(mod func(url.Values), jwt string) string {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_assertion_type": {entraAssertionType},
			"client_assertion": {jwt}, "scope": {"https://cognitiveservices.azure.com/.default"}}
		if mod != nil {
			mod(v)
		}
		return v.Encode()
	}
	const ct = "application/x-www-form-urlencoded"
	cases := []struct {
		name, url, ctype, body string
		status                 int
		code                   string
	}{
		{"good", a.TokenURL(), ct, form(nil, gh.MintJWT(aud)), 200, ""},
		{"json body", a.TokenURL(), "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"extra field", a.TokenURL(), ct, form(func(v url.Values) { v.Set("client_secret", "x") }, gh.MintJWT(aud)), 400, "invalid_request"},
		{"missing scope", a.TokenURL(), ct, form(func(v url.Values) { v.Del("scope") }, gh.MintJWT(aud)), 400, "invalid_request"},
		{"other grant", a.TokenURL(), ct, form(func(v url.Values) { v.Set("grant_type", "password") }, gh.MintJWT(aud)), 400, "unsupported_grant_type"},
		{"assertion type", a.TokenURL(), ct, form(func(v url.Values) { v.Set("client_assertion_type", "jwt") }, gh.MintJWT(aud)), 400, "invalid_request"},
		{"other tenant", strings.Replace(a.TokenURL(), "/t1/", "/t2/", 1), ct, form(nil, gh.MintJWT(aud)), 400, "invalid_request"},
		{"bad signature", a.TokenURL(), ct, form(nil, tamper(gh.MintJWT(aud))), 401, "invalid_client"},
		{"gov audience in public", a.TokenURL(), ct, form(nil, gh.MintJWT(aud+"USGov")), 400, "invalid_client"},
		{"expired assertion", expired.TokenURL(), ct, form(nil, stale.MintJWT(aud)), 400, "invalid_client"},
		{"subject of no federated credential", b.TokenURL(), ct, form(nil, gh.MintJWT(aud)), 401, "invalid_client"},
	}
	for _, c := range cases {
		status, code, ans := cloudPost(t, c.url, c.ctype, "", c.body)
		if status != c.status || code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, code, c.status, c.code)
		}
		if c.status != 200 {
			if d, _ := ans["error_description"].(string); !strings.HasPrefix(d, "AADSTS") || ans["trace_id"] == nil {
				t.Errorf("%s: not Entra's error shape: %v", c.name, ans)
			}
		}
	}
	jwt := gh.MintJWT(aud)
	if status, _, _ := cloudPost(t, a.TokenURL(), ct, "", form(nil, jwt)); status != 200 {
		t.Fatal(status)
	}
	if status, code, _ := cloudPost(t, a.TokenURL(), ct, "", form(nil, jwt)); status != 400 || code != "invalid_client" {
		t.Errorf("replayed assertion: %d %q", status, code)
	}
}

func TestOpenAIFakeIsStrict(t *testing.T) {
	gh := newTestGitHub(t, 0)
	stale := newTestGitHub(t, -time.Minute)
	o := NewOpenAI(OpenAIOptions{GitHub: gh, IdentityProviderID: "idp_1", ServiceAccountID: "sa_1"})
	defer o.Close()
	expired := NewOpenAI(OpenAIOptions{GitHub: stale, IdentityProviderID: "idp_1", ServiceAccountID: "sa_1"})
	defer expired.Close()
	good := func(jwt string) map[string]any {
		return map[string]any{"grant_type": openaiGrant, "subject_token_type": openaiJWTType, "subject_token": jwt,
			"identity_provider_id": "idp_1", "service_account_id": "sa_1"}
	}
	with := func(k string, v any) string { m := good(gh.MintJWT(defaultOpenAIAu)); m[k] = v; return jsonBody(m) }
	cases := []struct {
		name, url, ctype, body string
		status                 int
		code                   string
	}{
		{"good", o.TokenURL(), "application/json", jsonBody(good(gh.MintJWT(defaultOpenAIAu))), 200, ""},
		{"form", o.TokenURL(), "application/x-www-form-urlencoded", "grant_type=x", 400, "invalid_request"},
		{"extra client_id", o.TokenURL(), "application/json", with("client_id", "x"), 400, "invalid_request"},
		{"grant", o.TokenURL(), "application/json", with("grant_type", "client_credentials"), 400, "unsupported_grant_type"},
		{"subject type", o.TokenURL(), "application/json", with("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"), 400, "invalid_request"},
		{"other provider", o.TokenURL(), "application/json", with("identity_provider_id", "idp_2"), 400, "invalid_grant"},
		{"other account", o.TokenURL(), "application/json", with("service_account_id", "sa_2"), 403, "invalid_grant"},
		{"bad signature", o.TokenURL(), "application/json", jsonBody(good(tamper(gh.MintJWT(defaultOpenAIAu)))), 401, "invalid_subject_token"},
		{"audience", o.TokenURL(), "application/json", jsonBody(good(gh.MintJWT("https://api.openai.com"))), 401, "invalid_subject_token"},
		{"expired", expired.TokenURL(), "application/json", jsonBody(good(stale.MintJWT(defaultOpenAIAu))), 401, "invalid_subject_token"},
	}
	for _, c := range cases {
		if status, code, _ := cloudPost(t, c.url, c.ctype, "", c.body); status != c.status || code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, code, c.status, c.code)
		}
	}
	if _, _, ans := cloudPost(t, expired.TokenURL(), "application/json", "", jsonBody(good(stale.MintJWT(defaultOpenAIAu)))); ans["error_description"] != "subject token expired" {
		t.Errorf("expired subject: %v", ans)
	}
}
