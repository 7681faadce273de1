package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const dir = "../../testdata/config/"

func TestBadConfigs(t *testing.T) {
	cases := map[string]string{
		"bad-aws-region.hcl": `bad-aws-region.hcl:8,3: credential "bedrock": region: invalid region "us-east-1;rm" (want e.g. "us-east-1")`,
		"bad-aws-session.hcl": `bad-aws-session.hcl:9,3: credential "bedrock": session_name: invalid session name "job 42!" (want 2-64 of letters, digits and +=,.@_-)` + "\n" +
			`bad-aws-session.hcl:10,3: credential "bedrock": duration: must be whole seconds from 15m to 12h, as STS takes (got 5m0s)`,
		"bad-aws-role-arn.hcl":         `bad-aws-role-arn.hcl:7,3: credential "bedrock": role_arn: invalid role ARN "arn:aws:iam::1234:user/agent" (want arn:aws:iam::<12 digits>:role/NAME)`,
		"bad-azure-no-hosts.hcl":       `bad-azure-no-hosts.hcl:4,1: credential "az": hosts: required for provider "azure"`,
		"bad-duplicate-credential.hcl": `bad-duplicate-credential.hcl:10,1: credential "anthropic": defined more than once`,
		"bad-duration.hcl":             `bad-duration.hcl:9,3: credential "anthropic": lease_ttl: invalid duration "15x" (want e.g. "15m")`,
		"bad-gcp-provider.hcl":         `bad-gcp-provider.hcl:7,3: credential "vertex": workload_identity_provider: invalid provider "pool/gh" (want projects/N/locations/global/workloadIdentityPools/P/providers/X)`,
		"bad-identity-unknown.hcl":     `bad-identity-unknown.hcl:6,3: credential "anthropic": identity: names no identity ("gitlab" is not defined)`,
		"bad-lease-ttl-too-long.hcl":   `bad-lease-ttl-too-long.hcl:9,3: credential "anthropic": lease_ttl: must be at most 24h (got 25h0m0s)`,
		"bad-log-level.hcl":            `bad-log-level.hcl:2,3: log: level: must be one of trace, debug, info, warn, error (got "loud")`,
		"bad-missing-required.hcl":     `bad-missing-required.hcl:4,1: credential "anthropic": organization_id: required for provider "anthropic"`,
		"bad-socket-mode.hcl":          `bad-socket-mode.hcl:2,3: socket: mode: invalid mode "rw-rw----" (want an octal string like "0660")`,
		"bad-static-two-values.hcl":    `bad-static-two-values.hcl:4,3: credential "key": value_file: exactly one of value_file and value_env is required`,
		"bad-syntax.hcl":               `bad-syntax.hcl:4,24: Unclosed configuration block; There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.`,
		"bad-token-url-http.hcl":       `bad-token-url-http.hcl:9,3: credential "anthropic": token_url: "http://api.anthropic.com/v1/oauth/token" must be https (plain http only to a loopback address)`,
		"bad-token-url-scheme.hcl":     `bad-token-url-scheme.hcl:9,3: credential "anthropic": token_url: "ftp://api.anthropic.com/v1/oauth/token" must be https (plain http only to a loopback address)`,
		"bad-unknown-attribute.hcl":    `bad-unknown-attribute.hcl:9,3: credential "anthropic": federation_rule: unknown attribute`,
		"bad-unknown-block.hcl":        `bad-unknown-block.hcl:4,1: listener: unknown block`,
		"bad-target.hcl": strings.Join([]string{
			`bad-target.hcl:4,3: credential "key": scheme: must be "Bearer" or "token" (got "Basic")`,
			`bad-target.hcl:8,3: credential "key": api: must be "anthropic" when set (got "openai")`,
			`bad-target.hcl:15,3: credential "plain": target: invalid target "http://gw.example.com?x=1": only scheme, host, port and path are allowed`,
		}, "\n"),
		"bad-target-refused.hcl": strings.Join([]string{
			`bad-target-refused.hcl:4,3: credential "key": scheme: must be "Bearer" or "token" (got "Basic")`,
			`bad-target-refused.hcl:7,3: credential "key": target: "ftp://gw.example.com" must be https (plain http only to a loopback address)`,
		}, "\n"),
		"bad-target-host.hcl": `bad-target-host.hcl:6,3: credential "key": target: host "other.example.com" is not in the credential's hosts (gw.example.com, *.gw.example.com)`,
		"bad-several.hcl": strings.Join([]string{
			`bad-several.hcl:2,3: log: format: must be one of json, text (got "xml")`,
			`bad-several.hcl:6,3: credential "a": identity: names no identity ("nobody" is not defined)`,
			`bad-several.hcl:4,1: credential "a": federation_rule_id: required for provider "anthropic"`,
			`bad-several.hcl:4,1: credential "a": organization_id: required for provider "anthropic"`,
			`bad-several.hcl:9,3: credential "b": provider: must be one of anthropic, openai, aws, gcp, azure, static (got "mystery")`,
		}, "\n"),
	}
	files, _ := filepath.Glob(dir + "bad-*.hcl")
	if len(files) != len(cases) {
		t.Errorf("%d bad-*.hcl files but %d cases: every file needs its expected message", len(files), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(dir + name)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(src, name)
			if err == nil {
				t.Fatalf("accepted: %s", cfg.Summary())
			}
			if err.Error() != want {
				t.Errorf("got:\n%s\nwant:\n%s", err, want)
			}
			var es Errors
			if !asErrors(err, &es) || es[0].Pos.Line == 0 {
				t.Errorf("error is not an Errors with positions: %T", err)
			}
		})
	}
}

func asErrors(err error, es *Errors) bool {
	e, ok := err.(Errors)
	*es = e
	return ok && len(e) > 0
}

// loadTestdata loads a testdata config through a private copy: Load
// applies the config file's trust rule, and a checkout made under umask
// 002 leaves the tree's files group-writable.
func loadTestdata(t *testing.T, name string) (*Config, string) {
	t.Helper()
	src, err := os.ReadFile(dir + name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

func TestGoodFull(t *testing.T) {
	cfg, path := loadTestdata(t, "good-full.hcl")
	want := &Config{
		Source:       path,
		Socket:       Socket{Path: "/run/awf-broker/broker.sock", Mode: 0o660, Group: "awf"},
		Log:          Log{Level: "debug", Format: "text"},
		Admin:        Admin{UIDs: []uint32{0, 1000}, GIDs: []uint32{50}},
		Metrics:      Metrics{Listen: "127.0.0.1:9464"},
		WaitForToken: 5 * time.Second,
		Limits:       Limits{LeasesPerUID: 256, SubscribersPerUID: 16, ConnectionsPerUID: 1024},
		Identities: []Identity{
			{Name: "github", Type: "github-actions", AllowedRequestHosts: []string{"*.actions.githubusercontent.com"}, Allow: Allow{UIDs: []uint32{1001}}},
			{Name: "projected", Type: "file", Path: "/var/run/secrets/tokens/anthropic"},
		},
		Credentials: []Credential{
			{Name: "anthropic", Provider: "anthropic", Identity: "github", Audience: "https://api.anthropic.com",
				TokenURL: "https://api.anthropic.com/v1/oauth/token", Hosts: []string{"api.anthropic.com"}, Target: "https://api.anthropic.com", LeaseTTL: 30 * time.Minute, LeaseMaxLifetime: 24 * time.Hour,
				Allow: Allow{UIDs: []uint32{1001}}, FederationRuleID: "fdrl_01EXAMPLE", OrganizationID: "00000000-0000-4000-8000-000000000001",
				ServiceAccountID: "svac_01EXAMPLE", WorkspaceID: "wrkspc_01EXAMPLE"},
			{Name: "bedrock", Provider: "aws", Identity: "github", Audience: "sts.amazonaws.com", TokenURL: "https://sts.us-east-1.amazonaws.com",
				Hosts: []string{"bedrock-runtime.us-east-1.amazonaws.com"}, Target: "https://bedrock-runtime.us-east-1.amazonaws.com", LeaseTTL: 15 * time.Minute, LeaseMaxLifetime: 24 * time.Hour,
				RoleARN: "arn:aws:iam::123456789012:role/agent", Region: "us-east-1", SessionName: "awf-broker", Duration: time.Hour},
			{Name: "vertex", Provider: "gcp", Identity: "github",
				Audience: "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/gh",
				TokenURL: "https://sts.googleapis.com/v1/token", Hosts: []string{"aiplatform.googleapis.com", "*-aiplatform.googleapis.com"}, Target: "https://aiplatform.googleapis.com",
				LeaseTTL: 15 * time.Minute, LeaseMaxLifetime: 24 * time.Hour, WorkloadIdentityProvider: "projects/123/locations/global/workloadIdentityPools/pool/providers/gh",
				ServiceAccount: "sa@proj.iam.gserviceaccount.com", ImpersonationURL: "https://iamcredentials.googleapis.com",
				Scope: "https://www.googleapis.com/auth/cloud-platform", Lifetime: time.Hour},
			{Name: "azure-openai", Provider: "azure", Identity: "github", Audience: "api://AzureADTokenExchangeUSGov",
				TokenURL: "https://login.microsoftonline.us/tenant-1/oauth2/v2.0/token", Hosts: []string{"myres.openai.azure.us"}, Target: "https://myres.openai.azure.us",
				LeaseTTL: 15 * time.Minute, LeaseMaxLifetime: 24 * time.Hour, Scope: "https://cognitiveservices.azure.us/.default", TenantID: "tenant-1", ClientID: "client-1", Cloud: "usgovernment"},
			{Name: "openai", Provider: "openai", Identity: "projected", Audience: "https://api.openai.com/v1",
				TokenURL: "https://auth.openai.com/oauth/token", Hosts: []string{"api.openai.com"}, Target: "https://api.openai.com/v1", LeaseTTL: 15 * time.Minute, LeaseMaxLifetime: 24 * time.Hour,
				ServiceAccountID: "svcacct_01EXAMPLE", IdentityProviderID: "idp_01EXAMPLE"},
			{Name: "anthropic-key", Provider: "static", Hosts: []string{"api.anthropic.com"}, Target: "https://api.anthropic.com", LeaseTTL: 15 * time.Minute, LeaseMaxLifetime: 24 * time.Hour,
				Header: "x-api-key", ValueFile: "/etc/awf-broker/anthropic.key"},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		for i := range want.Credentials {
			if i < len(cfg.Credentials) && !reflect.DeepEqual(cfg.Credentials[i], want.Credentials[i]) {
				t.Errorf("credential %d:\n got %+v\nwant %+v", i, cfg.Credentials[i], want.Credentials[i])
			}
		}
		t.Fatalf("config differs:\n got %+v\nwant %+v", cfg, want)
	}
	wantSummary := path + ": 2 identities, 6 credentials (anthropic: anthropic; aws: bedrock; azure: azure-openai; gcp: vertex; openai: openai; static: anthropic-key), socket /run/awf-broker/broker.sock"
	if cfg.Summary() != wantSummary {
		t.Errorf("summary = %q", cfg.Summary())
	}
}

func TestGoodMinimalDefaults(t *testing.T) {
	cfg, _ := loadTestdata(t, "good-minimal.hcl")
	if cfg.Socket.Path != DefaultSocketPath || cfg.Socket.Mode != 0o660 || cfg.Log.Level != "info" || cfg.Log.Format != "json" || cfg.WaitForToken != 10*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
	c, ok := cfg.Credential("anthropic")
	if !ok || c.TokenURL != "http://127.0.0.1:8080/v1/oauth/token" || c.LeaseTTL != 15*time.Minute || c.Audience != "https://api.anthropic.com" {
		t.Errorf("credential: %+v", c)
	}
	if _, ok := cfg.Identity("github"); !ok {
		t.Error("identity lookup failed")
	}
}

// TestDefaultTargets: a credential without a target gets its first host's
// API base, /v1 on OpenAI's public API whichever the provider, and none
// for a wildcard.
func TestDefaultTargets(t *testing.T) {
	for _, c := range []struct {
		cred Credential
		want string
	}{
		{Credential{Provider: "openai"}, "https://api.openai.com/v1"},
		{Credential{Provider: "static", Hosts: []string{"API.OpenAI.com"}}, "https://api.openai.com/v1"},
		{Credential{Provider: "static", Hosts: []string{"api.openai.com:8443"}}, "https://api.openai.com:8443"},
		{Credential{Provider: "static", Hosts: []string{"api.anthropic.com"}}, "https://api.anthropic.com"},
		{Credential{Provider: "static", Hosts: []string{"*.openai.com"}}, ""},
		{Credential{Provider: "static", Hosts: []string{"api.openai.com"}, Target: "https://gw.example.com/openai/"}, "https://gw.example.com/openai"},
	} {
		cr := c.cred
		credentialDefaults(&cr)
		if cr.Target != c.want {
			t.Errorf("%s %v: target %q, want %q", c.cred.Provider, c.cred.Hosts, cr.Target, c.want)
		}
	}
}
