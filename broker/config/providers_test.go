package config

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider/aws"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// TestAWSRegionsAgreeWithProvider keeps config and the aws provider on one
// rule: a region the file accepts is one the provider starts with, and the
// other way round. Before provider/settings, config refused the isolated
// regions (us-iso-east-1) that the provider accepted.
func TestAWSRegionsAgreeWithProvider(t *testing.T) {
	cases := []struct {
		region, wantTokenURL string // "" when refused
	}{
		{"us-east-1", "https://sts.us-east-1.amazonaws.com"},
		{"us-gov-west-1", "https://sts.us-gov-west-1.amazonaws.com"},
		{"cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"},
		{"us-iso-east-1", "https://sts.us-iso-east-1.c2s.ic.gov"},
		{"us-isob-east-1", "https://sts.us-isob-east-1.sc2s.sgov.gov"},
		{"us-east-1;rm", ""},
		{"US-EAST-1", ""},
		{"useast1", ""},
	}
	for _, c := range cases {
		t.Run(c.region, func(t *testing.T) {
			src := fmt.Sprintf(`identity "github" {
  type = "github-actions"
}
credential "bedrock" {
  provider = "aws"
  identity = "github"
  role_arn = "arn:aws:iam::123456789012:role/agent"
  region   = %q
}
`, c.region)
			cfg, cfgErr := Parse([]byte(src), "t.hcl")
			_, provErr := aws.New(aws.Config{AWS: (&Credential{RoleARN: "arn:aws:iam::123456789012:role/agent", Region: c.region}).AWS()})
			if (cfgErr == nil) != (provErr == nil) {
				t.Fatalf("config and provider disagree: config %v, provider %v", cfgErr, provErr)
			}
			if c.wantTokenURL == "" {
				want := fmt.Sprintf(`t.hcl:8,3: credential "bedrock": region: invalid region %q (want e.g. "us-east-1")`, c.region)
				if cfgErr == nil || cfgErr.Error() != want {
					t.Errorf("config error = %v\nwant %s", cfgErr, want)
				}
				return
			}
			if cfgErr != nil {
				t.Fatal(cfgErr)
			}
			if got := cfg.Credentials[0].TokenURL; got != c.wantTokenURL {
				t.Errorf("token_url = %q, want %q", got, c.wantTokenURL)
			}
		})
	}
}

// TestSettingsFieldsAreAttributes: every field provider/settings names in
// a problem is a credential attribute of the file, so a settings error
// always points at a line the user wrote (or can write).
func TestSettingsFieldsAreAttributes(t *testing.T) {
	attrs := schema.blocks["credential"].attrs
	bad := []settings.Settings{
		settings.Anthropic{TokenURL: "http://x/v1"},
		settings.OpenAI{TokenURL: "ftp://x"},
		settings.AWS{RoleARN: "x", Region: "x", SessionName: "a b", Duration: time.Second, TokenURL: "ftp://x"},
		settings.GCP{WorkloadIdentityProvider: "x", ServiceAccount: "x", Lifetime: time.Hour, TokenURL: "ftp://x", ImpersonationURL: "ftp://x"},
		settings.Azure{Cloud: "mars", TokenURL: "ftp://x"},
		settings.Static{ValueFile: "a", ValueEnv: "b"},
		settings.Static{},
	}
	seen := map[string]bool{}
	for _, s := range bad {
		var es settings.Errors
		if err := s.Check(); !errors.As(err, &es) {
			t.Fatalf("%T: Check() = %v, want Errors", s, err)
		}
		for _, fe := range es {
			seen[fe.Field] = true
			if _, ok := attrs[fe.Field]; !ok {
				t.Errorf("%T names field %q, which is no credential attribute", s, fe.Field)
			}
		}
	}
	if len(seen) < 15 {
		t.Errorf("only %d distinct fields exercised: %v", len(seen), seen)
	}
}
