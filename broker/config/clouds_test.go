package config

import (
	"strings"
	"testing"
	"time"
)

const cloudsHead = `identity "github" {
  type = "github-actions"
}
`

func TestCloudCredentials(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"vertex regional wildcard host", `credential "vertex" {
  provider                   = "gcp"
  identity                   = "github"
  workload_identity_provider = "projects/1/locations/global/workloadIdentityPools/p/providers/x"
  service_account            = "sa@p.iam.gserviceaccount.com"
  lifetime                   = "12h"
  hosts                      = ["*-aiplatform.googleapis.com"]
}`, ""},
		{"lifetime above 12h", `credential "vertex" {
  provider                   = "gcp"
  identity                   = "github"
  workload_identity_provider = "projects/1/locations/global/workloadIdentityPools/p/providers/x"
  service_account            = "sa@p.iam.gserviceaccount.com"
  lifetime                   = "13h"
}`, `t.hcl:9,3: credential "vertex": lifetime: must be whole seconds from 1s to 12h (got 13h0m0s)`},
		{"lifetime without impersonation", `credential "vertex" {
  provider                   = "gcp"
  identity                   = "github"
  workload_identity_provider = "projects/1/locations/global/workloadIdentityPools/p/providers/x"
  lifetime                   = "1h"
}`, `t.hcl:8,3: credential "vertex": lifetime: applies only with service_account (impersonation)`},
		{"wildcard in the middle", `credential "az" {
  provider  = "azure"
  identity  = "github"
  tenant_id = "t"
  client_id = "c"
  hosts     = ["a.*-openai.azure.com"]
}`, `t.hcl:9,3: credential "az": hosts: invalid host "a.*-openai.azure.com" (want a host name, optionally with a leading "*." or "*-" and a ":port")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(cloudsHead+c.body), "t.hcl")
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				cr := cfg.Credentials[0]
				if cr.Lifetime != 12*time.Hour || cr.Hosts[0] != "*-aiplatform.googleapis.com" {
					t.Errorf("%+v", cr)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("err = %v\nwant %s", err, c.want)
			}
		})
	}
	cfg, err := Parse([]byte(cloudsHead+`credential "oai" {
  provider             = "openai"
  identity             = "github"
  identity_provider_id = "idp_1"
  service_account_id   = "svcacct_1"
}`), "t.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if cr := cfg.Credentials[0]; cr.TokenURL != "https://auth.openai.com/oauth/token" || cr.Audience != "https://api.openai.com/v1" ||
		strings.Join(cr.Hosts, ",") != "api.openai.com" {
		t.Errorf("openai defaults: %+v", cr)
	}
}
