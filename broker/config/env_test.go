package config

import (
	"strings"
	"testing"
)

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{"anthropic via AWF_*", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "anthropic",
			"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1", "AWF_AUTH_ANTHROPIC_ORGANIZATION_ID", "org_1",
			"AWF_AUTH_ANTHROPIC_TOKEN_URL", "http://127.0.0.1:9/v1/oauth/token", "AWF_BROKER_ALLOW_UIDS", "1001, 1002"},
			func(t *testing.T, c *Config) {
				cr := c.Credentials[0]
				if cr.Name != "anthropic" || cr.FederationRuleID != "fdrl_1" || cr.OrganizationID != "org_1" || cr.WorkspaceID != "" ||
					cr.TokenURL != "http://127.0.0.1:9/v1/oauth/token" || len(cr.Allow.UIDs) != 2 || c.Identities[0].Type != "github-actions" {
					t.Errorf("%+v %+v", cr, c.Identities)
				}
			}, ""},
		{"anthropic via SDK names", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "anthropic",
			"ANTHROPIC_FEDERATION_RULE_ID", "fdrl_2", "ANTHROPIC_ORGANIZATION_ID", "org_2", "ANTHROPIC_WORKSPACE_ID", ""},
			func(t *testing.T, c *Config) {
				cr := c.Credentials[0]
				if cr.FederationRuleID != "fdrl_2" || cr.OrganizationID != "org_2" || cr.WorkspaceID != "" || len(cr.Allow.UIDs) != 0 {
					t.Errorf("%+v", cr)
				}
			}, ""},
		{"identity token file", []string{"ANTHROPIC_FEDERATION_RULE_ID", "fdrl_3", "ANTHROPIC_ORGANIZATION_ID", "org_3", "ANTHROPIC_IDENTITY_TOKEN_FILE", "/var/run/tok"},
			func(t *testing.T, c *Config) {
				if c.Identities[0].Type != "file" || c.Identities[0].Path != "/var/run/tok" || c.Credentials[0].Provider != "anthropic" {
					t.Errorf("%+v", c)
				}
			}, ""},
		{"static api key", []string{"ANTHROPIC_API_KEY", "placeholder"},
			func(t *testing.T, c *Config) {
				cr := c.Credentials[0]
				if cr.Provider != "static" || cr.Header != "x-api-key" || cr.ValueEnv != "ANTHROPIC_API_KEY" || len(c.Identities) != 0 {
					t.Errorf("%+v", cr)
				}
			}, ""},
		{"aws", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "aws", "AWF_AUTH_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWF_AUTH_AWS_REGION", "cn-north-1"},
			func(t *testing.T, c *Config) {
				cr := c.Credentials[0]
				if cr.TokenURL != "https://sts.cn-north-1.amazonaws.com.cn" || cr.Hosts[0] != "bedrock-runtime.cn-north-1.amazonaws.com.cn" || cr.SessionName != "awf-broker" {
					t.Errorf("%+v", cr)
				}
			}, ""},
		{"aws odd region", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "aws", "AWF_AUTH_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWF_AUTH_AWS_REGION", "us-east-1.evil.com/"},
			nil, `env: AWF_AUTH_AWS_REGION: invalid region "us-east-1.evil.com/" (want e.g. "us-east-1")`},
		{"aws odd session name", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "aws", "AWF_AUTH_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWF_AUTH_AWS_REGION", "us-east-1", "AWF_AUTH_AWS_ROLE_SESSION_NAME", "a b"},
			nil, `env: AWF_AUTH_AWS_ROLE_SESSION_NAME: invalid session name "a b"`},
		{"gcp", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "gcp", "AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER", "projects/1/locations/global/workloadIdentityPools/p/providers/x", "AWF_AUTH_GCP_SCOPE", "s"},
			func(t *testing.T, c *Config) {
				if cr := c.Credentials[0]; cr.Scope != "s" || !strings.HasSuffix(cr.Audience, "providers/x") {
					t.Errorf("%+v", cr)
				}
			}, ""},
		{"azure needs hosts", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "azure", "AWF_AUTH_AZURE_TENANT_ID", "t", "AWF_AUTH_AZURE_CLIENT_ID", "c"},
			nil, `env: OPENAI_API_TARGET: required for provider "azure"`},
		{"azure", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "azure", "AWF_AUTH_AZURE_TENANT_ID", "t1", "AWF_AUTH_AZURE_CLIENT_ID", "c1",
			"AWF_AUTH_AZURE_CLOUD", "usgovernment", "OPENAI_API_TARGET", "https://MyRes.openai.azure.us/openai"},
			func(t *testing.T, c *Config) {
				cr := c.Credentials[0]
				if cr.TokenURL != "https://login.microsoftonline.us/t1/oauth2/v2.0/token" || cr.Audience != "api://AzureADTokenExchangeUSGov" ||
					cr.Scope != "https://cognitiveservices.azure.us/.default" || len(cr.Hosts) != 1 || cr.Hosts[0] != "myres.openai.azure.us" || cr.ClientID != "c1" {
					t.Errorf("%+v", cr)
				}
			}, ""},
		{"gcp with impersonation and a target", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "gcp",
			"AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER", "projects/1/locations/global/workloadIdentityPools/p/providers/x",
			"AWF_AUTH_GCP_SERVICE_ACCOUNT", "sa@p.iam.gserviceaccount.com", "OPENAI_API_TARGET", "us-east5-aiplatform.googleapis.com"},
			func(t *testing.T, c *Config) {
				cr := c.Credentials[0]
				if cr.ServiceAccount != "sa@p.iam.gserviceaccount.com" || cr.Audience != "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x" ||
					cr.TokenURL != "https://sts.googleapis.com/v1/token" || cr.ImpersonationURL != "https://iamcredentials.googleapis.com" ||
					cr.Scope != "https://www.googleapis.com/auth/cloud-platform" || len(cr.Hosts) != 1 || cr.Hosts[0] != "us-east5-aiplatform.googleapis.com" {
					t.Errorf("%+v", cr)
				}
			}, ""},
		{"missing org", []string{"AWF_AUTH_TYPE", "github-oidc", "AWF_AUTH_PROVIDER", "anthropic", "AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1"},
			nil, `env: AWF_AUTH_ANTHROPIC_ORGANIZATION_ID: required for provider "anthropic"`},
		{"missing provider", []string{"AWF_AUTH_TYPE", "github-oidc"}, nil, "env: AWF_AUTH_PROVIDER: required when AWF_AUTH_TYPE=github-oidc (anthropic, aws, gcp or azure)"},
		{"bad type", []string{"AWF_AUTH_TYPE", "magic"}, nil, `env: AWF_AUTH_TYPE: must be github-oidc (got "magic")`},
		{"bad uids", []string{"ANTHROPIC_API_KEY", "k", "AWF_BROKER_ALLOW_UIDS", "root"}, nil, `env: AWF_BROKER_ALLOW_UIDS: invalid id "root" (want comma-separated whole numbers)`},
		{"nothing", nil, nil, "env: nothing to serve"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := FromEnv(envOf(c.env...))
			if c.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Source != "env" {
				t.Errorf("source = %q", cfg.Source)
			}
			c.check(t, cfg)
		})
	}
}
