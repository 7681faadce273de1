package config

import (
	"fmt"
	"testing"

	"github.com/awf-broker/awf-broker/broker/provider/aws"
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
