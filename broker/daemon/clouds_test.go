package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// cloudCase is one cloud credential seen through the daemon.
type cloudCase struct {
	cred string
	// url is a request the lease covers; remove the header the grant drops.
	url, remove string
	// valid reports whether the upstream would accept a bearer.
	valid func(b *broker, tok string) bool
}

var (
	vertexURL = "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
	azureURL  = "https://" + devenv.AzureHost + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
	govURL    = "https://awf-gov.openai.azure.us/openai/v1/chat/completions"
	openaiURL = "https://api.openai.com/v1/responses"
)

// withCloudExtras adds what --dev leaves out: a GCP credential without
// impersonation and an Azure credential in the US-government cloud, both
// built from HCL so the config's per-cloud defaults are what the fakes check.
func withCloudExtras(t *testing.T, gov **fake.Azure) func(*devenv.Dev) {
	return func(d *devenv.Dev) {
		g := fake.NewAzure(fake.AzureOptions{GitHub: d.GitHub, TenantID: devenv.AzureTenant, ClientID: devenv.AzureClient,
			Audience: "api://AzureADTokenExchangeUSGov", Scope: "https://cognitiveservices.azure.us/.default"})
		t.Cleanup(g.Close)
		*gov = g
		uid := os.Getuid()
		src := fmt.Sprintf(`
identity "github" { type = "github-actions" }
credential "vertex-federated" {
  provider                   = "gcp"
  identity                   = "github"
  workload_identity_provider = %q
  token_url                  = %q
  allow { uids = [%d] }
}
credential "azure-gov" {
  provider  = "azure"
  identity  = "github"
  cloud     = "usgovernment"
  tenant_id = %q
  client_id = %q
  token_url = %q
  hosts     = ["*.openai.azure.us"]
  allow { uids = [%d] }
}`, devenv.GCPProvider, d.Clouds.GCP.TokenURL(), uid, devenv.AzureTenant, devenv.AzureClient, g.TokenURL(), uid)
		cfg, err := config.Parse([]byte(src), "extras.hcl")
		if err != nil {
			t.Fatal(err)
		}
		d.Config.Credentials = append(d.Config.Credentials, cfg.Credentials...)
	}
}

func TestCloudProviders(t *testing.T) {
	var gov *fake.Azure
	b := startBroker(t, brokerOpts{mod: withCloudExtras(t, &gov)})
	ctx := context.Background()
	cases := []cloudCase{
		{"vertex", vertexURL, "x-goog-api-key", func(b *broker, tok string) bool {
			return strings.HasPrefix(tok, fake.GCPAccessPrefix) && b.dev.Clouds.GCP.ValidAccess(tok)
		}},
		{"vertex-federated", vertexURL, "x-goog-api-key", func(b *broker, tok string) bool {
			return strings.HasPrefix(tok, fake.GCPFederatedPrefix) && b.dev.Clouds.GCP.Valid(tok)
		}},
		{"azure-openai", azureURL, "api-key", func(b *broker, tok string) bool { return b.dev.Clouds.Azure.Valid(tok) }},
		{"azure-gov", govURL, "api-key", func(b *broker, tok string) bool { return gov.Valid(tok) }},
		{"openai", openaiURL, "", func(b *broker, tok string) bool { return b.dev.Clouds.OpenAI.Valid(tok) }},
	}
	for _, c := range cases {
		t.Run(c.cred, func(t *testing.T) {
			st, err := b.client.Credential(ctx, c.cred)
			if err != nil || st.State != api.StateReady || st.Refreshes != 1 {
				t.Fatalf("credential = %+v, %v", st, err)
			}
			l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: c.cred, Label: "clouds"})
			if err != nil {
				t.Fatal(err)
			}
			h, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: c.url,
				Headers: map[string]string{"content-type": "application/json"}})
			if err != nil {
				t.Fatal(err)
			}
			tok, ok := strings.CutPrefix(h.Set["authorization"], "Bearer ")
			if !ok || !c.valid(b, tok) || len(h.Set) != 1 {
				t.Fatalf("grant sets %v: no bearer the upstream accepts", redact(h.Set))
			}
			if want := c.remove; (want == "") != (len(h.Remove) == 0) || (want != "" && h.Remove[0] != want) {
				t.Errorf("remove = %v, want %q", h.Remove, want)
			}
		})
	}
	if n := gov.Exchanges(); n != 1 {
		t.Errorf("US-government Entra exchanges = %d, want 1", n)
	}
	if n := b.dev.Clouds.GCP.Impersonations(); n != 1 {
		t.Errorf("impersonations = %d, want 1 (vertex only)", n)
	}
}

// A GCP lease cannot get a bearer for anything but Vertex AI's hosts.
func TestGCPScope(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "vertex"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/m:generateContent",
		"https://europe-west4-aiplatform.googleapis.com/v1/x",
		"https://US-EAST5-aiplatform.googleapis.com:443/v1/x",
	} {
		if _, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: u}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{
		"https://storage.googleapis.com/b/o",
		"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/x:generateAccessToken",
		"https://sts.googleapis.com/v1/token",
		"https://evil.us-central1-aiplatform.googleapis.com/v1/x",
		"https://us-central1-aiplatform.googleapis.com.evil.com/v1/x",
		"https://us-central1aiplatform.googleapis.com/v1/x",
		"https://api.openai.com/v1/responses",
	} {
		_, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: u})
		wantCode(t, err, 403, api.CodeScopeViolation)
	}
	for _, hosts := range [][]string{{"storage.googleapis.com"}, {"*.googleapis.com"}, {"*.aiplatform.googleapis.com"}} {
		_, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "vertex", Hosts: hosts})
		wantCode(t, err, 403, api.CodeScopeViolation)
	}
	narrow, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "vertex", Hosts: []string{"us-central1-aiplatform.googleapis.com"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client.Headers(ctx, narrow.ID, narrow.Secret, &api.HeadersRequest{Method: "POST", URL: "https://europe-west4-aiplatform.googleapis.com/v1/x"})
	wantCode(t, err, 403, api.CodeScopeViolation)
}

// A garbled refresh (a transient failure) leaves the previous token
// serving, and the credential recovers once the upstream does. Nothing the
// flows minted shows in a state, an error or a log line. (A permanent
// refusal fails closed instead: TestPermanentRefusalWhileValidFailsClosed.)
func TestCloudRefreshFailureKeepsToken(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	f := b.dev.Clouds
	var seen []string
	cases := []struct {
		cred, url, code string
		fail, reset     func()
	}{
		{"vertex", vertexURL, "malformed_response", func() { f.GCP.FailIAM(fake.FaultNoExpireTime, -1) }, f.GCP.Reset},
		{"azure-openai", azureURL, "malformed_response", func() { f.Azure.Fail(fake.FaultMalformed, -1) }, f.Azure.Reset},
		{"openai", openaiURL, "malformed_response", func() { f.OpenAI.Fail(fake.FaultMalformed, -1) }, f.OpenAI.Reset},
	}
	for _, c := range cases {
		t.Run(c.cred+"/"+c.code, func(t *testing.T) {
			l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: c.cred})
			if err != nil {
				t.Fatal(err)
			}
			req := &api.HeadersRequest{Method: "POST", URL: c.url}
			before, err := b.client.Headers(ctx, l.ID, l.Secret, req)
			if err != nil {
				t.Fatal(err)
			}
			c.fail()
			st, err := b.client.Refresh(ctx, c.cred)
			seen = append(seen, fmt.Sprintf("%+v %v", st, err))
			if err != nil || st.State != api.StateDegraded || st.LastErrorCode != c.code || st.LastError == "" {
				t.Fatalf("refresh = %+v, %v; want degraded with %s", st, err, c.code)
			}
			after, err := b.client.Headers(ctx, l.ID, l.Secret, req)
			if err != nil || after.Set["authorization"] != before.Set["authorization"] {
				t.Fatalf("the previous token stopped serving: %v", err)
			}
			c.reset()
			// A retry the failure scheduled may have started before the
			// reset; Refresh joins it, so the second one is the proof.
			for i := 0; i < 2 && (i == 0 || err == nil && st.State != api.StateReady); i++ {
				st, err = b.client.Refresh(ctx, c.cred)
			}
			if err != nil || st.State != api.StateReady {
				t.Fatalf("after recovery: %+v, %v", st, err)
			}
			fresh, err := b.client.Headers(ctx, l.ID, l.Secret, req)
			if err != nil || fresh.Set["authorization"] == before.Set["authorization"] {
				t.Fatalf("no new token after recovery: %v", err)
			}
		})
	}
	secrets := append(b.dev.GitHub.Issued(), f.GCP.Tokens()...)
	secrets = append(append(secrets, f.Azure.Tokens()...), f.OpenAI.Tokens()...)
	if len(secrets) < 12 {
		t.Fatalf("only %d secrets minted", len(secrets))
	}
	seen = append(seen, b.logs.String())
	for _, text := range seen {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("a secret (%.10s…) leaked into %.200s", s, text)
			}
		}
	}
}

// AWF_AUTH_PROVIDER=gcp|azure from the gh-aw api-proxy's environment
// builds a credential that exchanges (endpoints pointed at the fakes, as
// the real ones are out of reach).
func TestCloudEnvCompat(t *testing.T) {
	uid := fmt.Sprint(os.Getuid())
	envs := map[string][]string{
		"gcp": {"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "gcp", "AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER", devenv.GCPProvider,
			"AWF_AUTH_GCP_SERVICE_ACCOUNT", devenv.GCPAccount, "AWF_BROKER_ALLOW_UIDS", uid},
		"azure": {"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "azure", "AWF_AUTH_AZURE_TENANT_ID", devenv.AzureTenant,
			"AWF_AUTH_AZURE_CLIENT_ID", devenv.AzureClient, "OPENAI_API_TARGET", devenv.AzureHost, "AWF_BROKER_ALLOW_UIDS", uid},
	}
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		for _, prov := range []string{"gcp", "azure"} {
			kv := envs[prov]
			env := map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				env[kv[i]] = kv[i+1]
			}
			cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			// Env mode names the cloud credential after its port ("openai");
			// the dev broker already has one of that name.
			cr := cfg.Credentials[0]
			cr.Name = prov
			switch prov {
			case "gcp":
				cr.TokenURL, cr.ImpersonationURL = d.Clouds.GCP.TokenURL(), d.Clouds.GCP.ImpersonationURL()
			case "azure":
				cr.TokenURL = d.Clouds.Azure.TokenURL()
			}
			d.Config.Credentials = append(d.Config.Credentials, cr)
		}
	}})
	ctx := context.Background()
	for prov, u := range map[string]string{"gcp": vertexURL, "azure": azureURL} {
		l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: prov})
		if err != nil {
			t.Fatalf("%s: %v", prov, err)
		}
		h, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: u})
		if err != nil {
			t.Fatalf("%s: %v", prov, err)
		}
		tok := strings.TrimPrefix(h.Set["authorization"], "Bearer ")
		if ok := b.dev.Clouds.GCP.ValidAccess(tok) || b.dev.Clouds.Azure.Valid(tok); !ok {
			t.Errorf("%s: no bearer the upstream accepts", prov)
		}
	}
}
