package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// line renders what a credential yields: name, sidecar port, provider,
// target, hosts, and the header it sets (static) or its exchange inputs.
func line(c Credential) string {
	s := fmt.Sprintf("%s :%d %s %s %v", c.Name, api.APIProxyPort(c.Name), c.Provider, c.Target, c.Hosts)
	switch c.Provider {
	case "static":
		s += fmt.Sprintf(" %s=%s$%s", c.Header, strings.TrimSpace(c.Scheme+" "), c.ValueEnv)
		if c.API != "" {
			s += " api=" + c.API
		}
	case "anthropic":
		s += fmt.Sprintf(" rule=%s org=%s svac=%s ws=%q", c.FederationRuleID, c.OrganizationID, c.ServiceAccountID, c.WorkspaceID)
	case "aws":
		s += fmt.Sprintf(" role=%s region=%s session=%s", c.RoleARN, c.Region, c.SessionName)
	case "gcp":
		s += fmt.Sprintf(" wip=%s sa=%s", c.WorkloadIdentityProvider, c.ServiceAccount)
	case "azure":
		s += fmt.Sprintf(" tenant=%s client=%s cloud=%s scope=%s", c.TenantID, c.ClientID, c.Cloud, c.Scope)
	}
	return s
}

const (
	ghURL   = "https://pipelines.actions.githubusercontent.com/abc/_apis/distributedtask/hubs/Actions/plans/x/jobs/y/idtoken?api-version=2.0"
	ghesURL = "https://ghes.example.com/_services/pipelines/_apis/distributedtask/hubs/Actions/plans/x/jobs/y/idtoken?api-version=2.0"
)

// anthropicOIDC is the environment gh-aw's compiler writes for
// engine.auth with the Anthropic provider (the key secret is empty).
var anthropicOIDC = []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "anthropic",
	"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1", "AWF_AUTH_ANTHROPIC_ORGANIZATION_ID", "org_1",
	"AWF_AUTH_ANTHROPIC_SERVICE_ACCOUNT_ID", "svac_1", "AWF_AUTH_ANTHROPIC_WORKSPACE_ID", "",
	"ACTIONS_ID_TOKEN_REQUEST_URL", ghURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "placeholder", "ANTHROPIC_API_KEY", ""}

func with(base []string, kv ...string) []string { return append(append([]string(nil), base...), kv...) }

// TestFromEnvAsTheAPIProxy is the drop-in's acceptance table: each case is
// an api-proxy environment copied unchanged, and the rows are the
// credentials it yields (port, provider, target, hosts, header or
// exchange inputs), the identity's request hosts and the notes.
func TestFromEnvAsTheAPIProxy(t *testing.T) {
	cases := []struct {
		name       string
		env        []string
		want       []string
		identHosts []string // nil: no github-actions identity
		notes      []string
	}{
		{"anthropic OIDC as gh-aw writes it", anthropicOIDC,
			[]string{`anthropic :10001 anthropic https://api.anthropic.com [api.anthropic.com] rule=fdrl_1 org=org_1 svac=svac_1 ws=""`},
			[]string{"*.actions.githubusercontent.com"}, nil},
		{"anthropic OIDC beside OpenAI, Gemini and Vertex static keys", with(anthropicOIDC, "OPENAI_API_KEY", "k", "GEMINI_API_KEY", "k", "GOOGLE_API_KEY", "k"),
			[]string{
				`anthropic :10001 anthropic https://api.anthropic.com [api.anthropic.com] rule=fdrl_1 org=org_1 svac=svac_1 ws=""`,
				"openai :10000 static https://api.openai.com/v1 [api.openai.com] authorization=Bearer$OPENAI_API_KEY",
				"gemini :10003 static https://generativelanguage.googleapis.com [generativelanguage.googleapis.com] x-goog-api-key=$GEMINI_API_KEY",
				"vertex :10004 static https://aiplatform.googleapis.com [aiplatform.googleapis.com] x-goog-api-key=$GOOGLE_API_KEY",
			}, []string{"*.actions.githubusercontent.com"}, nil},
		{"older workflow: Azure fields only, type in odd case", []string{"AWF_AUTH_TYPE", " GitHub-OIDC ",
			"AWF_AUTH_AZURE_TENANT_ID", "t1", "AWF_AUTH_AZURE_CLIENT_ID", "c1", "OPENAI_API_TARGET", "MyRes.openai.azure.com", "ACTIONS_ID_TOKEN_REQUEST_URL", ghURL},
			[]string{"openai :10000 azure https://myres.openai.azure.com [myres.openai.azure.com] tenant=t1 client=c1 cloud=public scope=https://cognitiveservices.azure.com/.default"},
			[]string{"*.actions.githubusercontent.com"}, []string{"AWF_AUTH_PROVIDER is unset: azure, as the api-proxy assumes for older workflows"}},
		{"provider in upper case", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", " AWS ",
			"AWF_AUTH_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWF_AUTH_AWS_REGION", "us-west-2"},
			[]string{"openai :10000 aws https://bedrock-runtime.us-west-2.amazonaws.com [bedrock-runtime.us-west-2.amazonaws.com] role=arn:aws:iam::123456789012:role/r region=us-west-2 session=awf-oidc-session"},
			[]string{"*.actions.githubusercontent.com"}, nil},
		{"api-key type: static keys only, OIDC fields ignored", []string{"AWF_AUTH_TYPE", "api-key", "AWF_AUTH_PROVIDER", "anthropic",
			"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1", "ANTHROPIC_API_KEY", "k"},
			[]string{"anthropic :10001 static https://api.anthropic.com [api.anthropic.com] x-api-key=$ANTHROPIC_API_KEY api=anthropic"},
			nil, []string{`AWF_AUTH_TYPE="api-key": static keys only, as in the api-proxy`}},
		{"targets, base paths and header overrides", []string{"ANTHROPIC_API_KEY", "k", "ANTHROPIC_API_TARGET", "gateway.example.com",
			"ANTHROPIC_API_BASE_PATH", "anthropic/", "AWF_ANTHROPIC_AUTH_HEADER", "Authorization",
			"OPENAI_API_KEY", "k", "OPENAI_API_TARGET", "https://llm.example.com", "AWF_OPENAI_AUTH_HEADER", "api-key"},
			[]string{
				"openai :10000 static https://llm.example.com [llm.example.com] api-key=$OPENAI_API_KEY",
				"anthropic :10001 static https://gateway.example.com/anthropic [gateway.example.com] authorization=$ANTHROPIC_API_KEY api=anthropic",
			}, nil, nil},
		{"a target URL with a path and a port", []string{"ANTHROPIC_API_KEY", "k", "ANTHROPIC_API_TARGET", "https://gw.example.com:8443/v2/"},
			[]string{"anthropic :10001 static https://gw.example.com:8443/v2 [gw.example.com:8443] x-api-key=$ANTHROPIC_API_KEY api=anthropic"},
			nil, []string{`ANTHROPIC_API_TARGET: its path "/v2" is the base path (the api-proxy would drop it and use ANTHROPIC_API_BASE_PATH)`,
				"ANTHROPIC_API_TARGET: its port 8443 is kept (the api-proxy would drop it)"}},
		{"copilot with the GitHub token", []string{"COPILOT_GITHUB_TOKEN", "k"},
			[]string{"copilot :10002 static https://api.githubcopilot.com [api.githubcopilot.com] authorization=Bearer$COPILOT_GITHUB_TOKEN"}, nil, nil},
		{"copilot on GHES: the enterprise host and the token scheme", []string{"COPILOT_GITHUB_TOKEN", "k", "GITHUB_SERVER_URL", "https://ghes.example.com"},
			[]string{"copilot :10002 static https://api.enterprise.githubcopilot.com [api.enterprise.githubcopilot.com] authorization=token$COPILOT_GITHUB_TOKEN"}, nil, nil},
		{"copilot on GHE.com data residency", []string{"COPILOT_GITHUB_TOKEN", "k", "GITHUB_SERVER_URL", "https://acme.ghe.com"},
			[]string{"copilot :10002 static https://copilot-api.acme.ghe.com [copilot-api.acme.ghe.com] authorization=token$COPILOT_GITHUB_TOKEN"}, nil, nil},
		{"copilot BYOK key with a base URL wins over the GitHub token", []string{"COPILOT_GITHUB_TOKEN", "k", "COPILOT_PROVIDER_API_KEY", "k2",
			"COPILOT_PROVIDER_BASE_URL", "https://openrouter.ai/api/v1"},
			[]string{"copilot :10002 static https://openrouter.ai/api/v1 [openrouter.ai] authorization=Bearer$COPILOT_PROVIDER_API_KEY"}, nil, nil},
		{"copilot placeholder key is not a key", []string{"COPILOT_GITHUB_TOKEN", "k", "COPILOT_PROVIDER_API_KEY", "ghu_" + strings.Repeat("a", 36)},
			[]string{"copilot :10002 static https://api.githubcopilot.com [api.githubcopilot.com] authorization=Bearer$COPILOT_GITHUB_TOKEN"}, nil, nil},
		{"copilot placeholder key after a pasted scheme is not a key", []string{"COPILOT_GITHUB_TOKEN", "k", "COPILOT_PROVIDER_API_KEY", "BEARER dummy-byok-key-for-offline-mode"},
			[]string{"copilot :10002 static https://api.githubcopilot.com [api.githubcopilot.com] authorization=Bearer$COPILOT_GITHUB_TOKEN"}, nil, nil},
		{"GCP OIDC on a regional target", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "gcp",
			"AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER", "projects/1/locations/global/workloadIdentityPools/p/providers/x",
			"AWF_AUTH_GCP_SERVICE_ACCOUNT", "sa@p.iam.gserviceaccount.com", "OPENAI_API_TARGET", "us-east5-aiplatform.googleapis.com"},
			[]string{"openai :10000 gcp https://us-east5-aiplatform.googleapis.com [us-east5-aiplatform.googleapis.com] wip=projects/1/locations/global/workloadIdentityPools/p/providers/x sa=sa@p.iam.gserviceaccount.com"},
			[]string{"*.actions.githubusercontent.com"}, nil},
		{"cloud OIDC serves Copilot BYOK too", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "azure",
			"AWF_AUTH_AZURE_TENANT_ID", "t1", "AWF_AUTH_AZURE_CLIENT_ID", "c1", "AWF_AUTH_AZURE_CLOUD", "USGovernment",
			"OPENAI_API_TARGET", "myres.openai.azure.us", "COPILOT_PROVIDER_BASE_URL", "https://myres.openai.azure.us/openai/v1"},
			[]string{
				"openai :10000 azure https://myres.openai.azure.us [myres.openai.azure.us] tenant=t1 client=c1 cloud=usgovernment scope=https://cognitiveservices.azure.us/.default",
				"copilot :10002 azure https://myres.openai.azure.us/openai/v1 [myres.openai.azure.us] tenant=t1 client=c1 cloud=usgovernment scope=https://cognitiveservices.azure.us/.default",
			}, []string{"*.actions.githubusercontent.com"}, nil},
		{"cloud OIDC credentials come before the static keys", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "azure",
			"AWF_AUTH_AZURE_TENANT_ID", "t1", "AWF_AUTH_AZURE_CLIENT_ID", "c1", "OPENAI_API_TARGET", "myres.openai.azure.com",
			"COPILOT_PROVIDER_BASE_URL", "https://myres.openai.azure.com/openai/v1", "ANTHROPIC_API_KEY", "k"},
			[]string{
				"openai :10000 azure https://myres.openai.azure.com [myres.openai.azure.com] tenant=t1 client=c1 cloud=public scope=https://cognitiveservices.azure.com/.default",
				"copilot :10002 azure https://myres.openai.azure.com/openai/v1 [myres.openai.azure.com] tenant=t1 client=c1 cloud=public scope=https://cognitiveservices.azure.com/.default",
				"anthropic :10001 static https://api.anthropic.com [api.anthropic.com] x-api-key=$ANTHROPIC_API_KEY api=anthropic",
			}, []string{"*.actions.githubusercontent.com"}, nil},
		{"GHES runner: its own request host", with(anthropicOIDC, "ACTIONS_ID_TOKEN_REQUEST_URL", ghesURL),
			[]string{`anthropic :10001 anthropic https://api.anthropic.com [api.anthropic.com] rule=fdrl_1 org=org_1 svac=svac_1 ws=""`},
			[]string{"*.actions.githubusercontent.com", "ghes.example.com"},
			[]string{"ACTIONS_ID_TOKEN_REQUEST_URL names ghes.example.com (a GitHub Enterprise Server runner?): it is allowed as a request host"}},
		{"Anthropic SDK names with a token file", []string{"ANTHROPIC_FEDERATION_RULE_ID", "fdrl_3", "ANTHROPIC_ORGANIZATION_ID", "org_3",
			"ANTHROPIC_WORKSPACE_ID", "wrkspc_3", "ANTHROPIC_IDENTITY_TOKEN_FILE", "/var/run/tok"},
			[]string{`anthropic :10001 anthropic https://api.anthropic.com [api.anthropic.com] rule=fdrl_3 org=org_3 svac= ws="wrkspc_3"`}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := FromEnv(envOf(c.env...))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cr := range cfg.Credentials {
				got = append(got, line(cr))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("credentials:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(c.want, "\n     "))
			}
			var hosts []string
			if id, ok := cfg.Identity("github"); ok && id.Type == "github-actions" {
				hosts = id.AllowedRequestHosts
			}
			if !reflect.DeepEqual(hosts, c.identHosts) {
				t.Errorf("identity request hosts %v, want %v", hosts, c.identHosts)
			}
			if !reflect.DeepEqual(cfg.Notes, c.notes) {
				t.Errorf("notes:\n got %q\nwant %q", cfg.Notes, c.notes)
			}
		})
	}
}

// TestFromEnvBadInput: every refusal names the variable and what is wrong,
// and nothing is built.
func TestFromEnvBadInput(t *testing.T) {
	cases := []struct {
		name, want string
		env        []string
	}{
		{"unknown provider", `env: AWF_AUTH_PROVIDER: unknown provider "bedrock" (want anthropic, aws, gcp or azure); the api-proxy would silently treat it as azure, the broker refuses it`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "Bedrock"}},
		{"OIDC and a key fight for port 10001", `env: ANTHROPIC_API_KEY: both ANTHROPIC_API_KEY and AWF_AUTH_TYPE=github-oidc (provider "anthropic") would serve credential "anthropic" on one port; unset one (the api-proxy silently prefers OIDC; the broker refuses the ambiguity)`,
			with(anthropicOIDC, "ANTHROPIC_API_KEY", "k")},
		{"cloud OIDC and a key fight for port 10000", `env: OPENAI_API_KEY: both OPENAI_API_KEY and AWF_AUTH_TYPE=github-oidc (provider "gcp") would serve credential "openai" on one port; unset one (the api-proxy silently prefers OIDC; the broker refuses the ambiguity)`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "gcp", "AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER", "projects/1/locations/global/workloadIdentityPools/p/providers/x", "OPENAI_API_KEY", "k"}},
		{"target with a query", `env: ANTHROPIC_API_TARGET: not a host or base URL: "gw.example.com/?x=1" (want e.g. api.example.com or https://gw.example.com/base)`,
			[]string{"ANTHROPIC_API_KEY", "k", "ANTHROPIC_API_TARGET", "gw.example.com/?x=1"}},
		{"target with a space", `env: OPENAI_API_TARGET: not a host or base URL: "api openai com" (want e.g. api.example.com or https://gw.example.com/base)`,
			[]string{"OPENAI_API_KEY", "k", "OPENAI_API_TARGET", "api openai com"}},
		{"plain http target", `env: GEMINI_API_TARGET: "http://gemini.example.com" must be https (plain http only to a loopback address)`,
			[]string{"GEMINI_API_KEY", "k", "GEMINI_API_TARGET", "http://gemini.example.com"}},
		{"base path with a query", `env: OPENAI_API_BASE_PATH: invalid target "https://api.openai.com/v1?x=1": only scheme, host, port and path are allowed`,
			[]string{"OPENAI_API_KEY", "k", "OPENAI_API_BASE_PATH", "v1?x=1"}},
		{"header override not a header", `env: AWF_OPENAI_AUTH_HEADER: not a header name: "x api key"`,
			[]string{"OPENAI_API_KEY", "k", "AWF_OPENAI_AUTH_HEADER", "x api key"}},
		{"malformed region", `env: AWF_AUTH_AWS_REGION: invalid region "us-east-1.evil.com/" (want e.g. "us-east-1")`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "aws", "AWF_AUTH_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWF_AUTH_AWS_REGION", "us-east-1.evil.com/"}},
		{"malformed session name", `env: AWF_AUTH_AWS_ROLE_SESSION_NAME: invalid session name "a b"`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "aws", "AWF_AUTH_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWF_AUTH_AWS_REGION", "us-east-1", "AWF_AUTH_AWS_ROLE_SESSION_NAME", "a b"}},
		{"unknown Azure cloud", `env: AWF_AUTH_AZURE_CLOUD: unknown cloud "mars" (want public, usgovernment or china); the api-proxy would fall back to the public cloud and send the token there, the broker refuses it`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_AZURE_TENANT_ID", "t", "AWF_AUTH_AZURE_CLIENT_ID", "c", "AWF_AUTH_AZURE_CLOUD", "Mars", "OPENAI_API_TARGET", "r.openai.azure.com"}},
		{"azure without a target", `env: OPENAI_API_TARGET: required for provider "azure"`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_AZURE_TENANT_ID", "t", "AWF_AUTH_AZURE_CLIENT_ID", "c"}},
		{"anthropic without its organization", `env: AWF_AUTH_ANTHROPIC_ORGANIZATION_ID: required for provider "anthropic"`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "anthropic", "AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1"}},
		{"gcp without its workload identity provider", `env: AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER: required for provider "gcp"`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "gcp", "AWF_AUTH_GCP_SERVICE_ACCOUNT", "sa@p.iam.gserviceaccount.com"}},
		{"aws without its role", `env: AWF_AUTH_AWS_ROLE_ARN: required for provider "aws"`,
			[]string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "aws", "AWF_AUTH_AWS_REGION", "us-east-1"}},
		{"bad uids", `env: AWF_BROKER_ALLOW_UIDS: invalid id "root" (want comma-separated whole numbers)`,
			[]string{"ANTHROPIC_API_KEY", "k", "AWF_BROKER_ALLOW_UIDS", "root"}},
		{"nothing", "env: nothing to serve", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := FromEnv(envOf(c.env...))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %s", err, c.want)
			}
			if cfg != nil {
				t.Errorf("a config was built: %+v", cfg)
			}
		})
	}
}
