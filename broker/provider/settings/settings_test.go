package settings

import (
	"errors"
	"testing"
	"time"
)

const arn = "arn:aws:iam::123456789012:role/agent"

// TestCheck pins every provider's checks: the row names the settings and
// the exact problems, field by field.
func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		s    Settings
		want string // Errors.Error(), "" when valid
	}{
		{"anthropic minimal", Anthropic{FederationRuleID: "r", OrganizationID: "o"}.WithDefaults(), ""},
		{"anthropic missing both ids", Anthropic{}, `federation_rule_id: required for provider "anthropic"; organization_id: required for provider "anthropic"`},
		{"anthropic token_url without the token path", Anthropic{FederationRuleID: "r", OrganizationID: "o", TokenURL: "https://api.anthropic.com/v1"},
			`token_url: "https://api.anthropic.com/v1" must end in /v1/oauth/token`},
		{"anthropic http token_url", Anthropic{FederationRuleID: "r", OrganizationID: "o", TokenURL: "http://api.anthropic.com/v1/oauth/token"},
			`token_url: "http://api.anthropic.com/v1/oauth/token" must be https (plain http only to a loopback address)`},
		{"openai missing ids", OpenAI{}, `identity_provider_id: required for provider "openai"; service_account_id: required for provider "openai"`},
		{"aws commercial", AWS{RoleARN: arn, Region: "us-east-1"}.WithDefaults(), ""},
		{"aws govcloud", AWS{RoleARN: "arn:aws-us-gov:iam::123456789012:role/a", Region: "us-gov-west-1"}.WithDefaults(), ""},
		{"aws china", AWS{RoleARN: "arn:aws-cn:iam::123456789012:role/a", Region: "cn-north-1"}.WithDefaults(), ""},
		{"aws isolated (iso)", AWS{RoleARN: "arn:aws-iso:iam::123456789012:role/a", Region: "us-iso-east-1"}.WithDefaults(), ""},
		{"aws isolated (isob)", AWS{RoleARN: "arn:aws-iso-b:iam::123456789012:role/a", Region: "us-isob-east-1"}.WithDefaults(), ""},
		{"aws injected region", AWS{RoleARN: arn, Region: "us-east-1;rm"}, `region: invalid region "us-east-1;rm" (want e.g. "us-east-1")`},
		{"aws user ARN", AWS{RoleARN: "arn:aws:iam::123456789012:user/a", Region: "us-east-1"},
			`role_arn: invalid role ARN "arn:aws:iam::123456789012:user/a" (want arn:aws:iam::<12 digits>:role/NAME)`},
		{"aws short duration", AWS{RoleARN: arn, Region: "us-east-1", Duration: 5 * time.Minute},
			`duration: must be whole seconds from 15m to 12h, as STS takes (got 5m0s)`},
		{"aws session name with a space", AWS{RoleARN: arn, Region: "us-east-1", SessionName: "job 42"},
			`session_name: invalid session name "job 42" (want 2-64 of letters, digits and +=,.@_-)`},
		{"aws nothing", AWS{}, `role_arn: required for provider "aws"; region: required for provider "aws"`},
		{"gcp audience form of the provider", GCP{WorkloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x"},
			`workload_identity_provider: invalid provider "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x" (want projects/N/locations/global/workloadIdentityPools/P/providers/X)`},
		{"gcp lifetime without impersonation", GCP{WorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x", Lifetime: time.Hour},
			`lifetime: applies only with service_account (impersonation)`},
		{"gcp bad service account", GCP{WorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x", ServiceAccount: "a/b@c"},
			`service_account: "a/b@c" is not a service account e-mail`},
		{"azure unknown cloud", Azure{TenantID: "t", ClientID: "c", Cloud: "mars"}, `cloud: must be one of public, usgovernment, china (got "mars")`},
		{"static both sources", Static{Header: "x-api-key", ValueFile: "/k", ValueEnv: "K"}, `value_file: exactly one of value_file and value_env is required`},
		{"static no header", Static{ValueEnv: "K"}, `header: required for provider "static"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.s.Check()
			got := ""
			if err != nil {
				var es Errors
				if !errors.As(err, &es) {
					t.Fatalf("Check returned %T, want Errors", err)
				}
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("Check() = %q\nwant      %q", got, c.want)
			}
		})
	}
}

// TestDefaults pins the defaults that depend on other fields.
func TestDefaults(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"aws commercial STS", AWS{Region: "us-east-1"}.WithDefaults().TokenURL, "https://sts.us-east-1.amazonaws.com"},
		{"aws china STS", AWS{Region: "cn-north-1"}.WithDefaults().TokenURL, "https://sts.cn-north-1.amazonaws.com.cn"},
		{"aws govcloud STS", AWS{Region: "us-gov-west-1"}.WithDefaults().TokenURL, "https://sts.us-gov-west-1.amazonaws.com"},
		{"aws iso STS", AWS{Region: "us-iso-east-1"}.WithDefaults().TokenURL, "https://sts.us-iso-east-1.c2s.ic.gov"},
		{"aws isob Bedrock host", AWS{Region: "us-isob-east-1"}.DefaultHosts()[0], "bedrock-runtime.us-isob-east-1.sc2s.sgov.gov"},
		{"aws china Bedrock host", AWS{Region: "cn-north-1"}.DefaultHosts()[0], "bedrock-runtime.cn-north-1.amazonaws.com.cn"},
		{"aws session name", AWS{}.WithDefaults().SessionName, "awf-broker"},
		{"gcp audience", GCP{WorkloadIdentityProvider: "projects/1/x"}.WithDefaults().Audience, "https://iam.googleapis.com/projects/1/x"},
		{"gcp lifetime only with impersonation", GCP{}.WithDefaults().Lifetime.String(), "0s"},
		{"gcp impersonated lifetime", GCP{ServiceAccount: "a@b"}.WithDefaults().Lifetime.String(), "1h0m0s"},
		{"azure public token URL", Azure{TenantID: "t"}.WithDefaults().TokenURL, "https://login.microsoftonline.com/t/oauth2/v2.0/token"},
		{"azure china audience", Azure{Cloud: "china"}.WithDefaults().Audience, "api://AzureADTokenExchangeChina"},
		{"azure usgovernment scope", Azure{Cloud: "usgovernment"}.WithDefaults().Scope, "https://cognitiveservices.azure.us/.default"},
		{"anthropic token URL", Anthropic{}.WithDefaults().TokenURL, "https://api.anthropic.com/v1/oauth/token"},
		{"openai audience", OpenAI{}.WithDefaults().Audience, "https://api.openai.com/v1"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	cases := []struct{ url, want string }{
		{"https://api.anthropic.com/v1/oauth/token", ""},
		{"http://127.0.0.1:8080/x", ""},
		{"http://127.8.0.1/x", ""},
		{"http://[::1]:99/x", ""},
		{"http://localhost/x", ""},
		{"http://api.anthropic.com/x", `"http://api.anthropic.com/x" must be https (plain http only to a loopback address)`},
		{"http://10.0.0.1/x", `"http://10.0.0.1/x" must be https (plain http only to a loopback address)`},
		{"ftp://127.0.0.1/x", `"ftp://127.0.0.1/x" must be https (plain http only to a loopback address)`},
		{"/relative", `invalid URL "/relative"`},
	}
	for _, c := range cases {
		if got := CheckEndpoint(c.url); got != c.want {
			t.Errorf("CheckEndpoint(%s) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestHostPatterns(t *testing.T) {
	cases := []struct {
		host           string
		scope, reqHost bool
	}{
		{"api.anthropic.com", true, true},
		{"api.anthropic.com:443", true, true},
		{"*.actions.githubusercontent.com", true, true},
		{"*-aiplatform.googleapis.com", true, false},
		{"a.*-openai.azure.com", false, false},
		{"API.anthropic.com", false, false},
		{"", false, false},
	}
	for _, c := range cases {
		if got := ValidHost(c.host); got != c.scope {
			t.Errorf("ValidHost(%q) = %v, want %v", c.host, got, c.scope)
		}
		if got := ValidRequestHost(c.host); got != c.reqHost {
			t.Errorf("ValidRequestHost(%q) = %v, want %v", c.host, got, c.reqHost)
		}
	}
}

// TestStripScheme: a pasted static scheme, in any case, is dropped with
// the spaces after it; anything else is left alone.
func TestStripScheme(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"k1", "k1"}, {"Bearer k1", "k1"}, {"bearer  k1", "k1"}, {"TOKEN k1", "k1"}, {"token k1", "k1"},
		{"Bearer", "Bearer"}, {"Bearerk1", "Bearerk1"}, {"tokenk1", "tokenk1"}, {"Basic k1", "Basic k1"}, {"", ""},
	} {
		if got := StripScheme(c.in); got != c.want {
			t.Errorf("StripScheme(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
