package config

import (
	"strings"
	"testing"
	"time"
)

// TestLimitsAndLifetime: the limits block and lease_max_lifetime, their
// defaults and their refusals, each naming the line and field.
func TestLimitsAndLifetime(t *testing.T) {
	const cred = `
identity "github" {
  type = "github-actions"
}
credential "anthropic" {
  provider           = "anthropic"
  identity           = "github"
  federation_rule_id = "fdrl_x"
  organization_id    = "o"
  service_account_id = "svac_x"
%s
}
`
	cfg, err := Parse([]byte(strings.Replace(cred, "%s", "", 1)), "t.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if got := (Limits{LeasesPerUID: 256, SubscribersPerUID: 16, ConnectionsPerUID: 1024}); cfg.Limits != got {
		t.Errorf("default limits %+v, want %+v", cfg.Limits, got)
	}
	if c := cfg.Credentials[0]; c.LeaseMaxLifetime != 24*time.Hour {
		t.Errorf("default lease_max_lifetime %s, want 24h", c.LeaseMaxLifetime)
	}
	src := "limits {\n  leases_per_uid = 4\n  subscribers_per_uid = 2\n  connections_per_uid = 8\n}\n" +
		strings.Replace(cred, "%s", `  lease_max_lifetime = "2h"`, 1)
	cfg, err = Parse([]byte(src), "t.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if got := (Limits{LeasesPerUID: 4, SubscribersPerUID: 2, ConnectionsPerUID: 8}); cfg.Limits != got || cfg.Credentials[0].LeaseMaxLifetime != 2*time.Hour {
		t.Errorf("limits %+v, lifetime %s", cfg.Limits, cfg.Credentials[0].LeaseMaxLifetime)
	}

	bad := []struct{ name, src, want string }{
		{"zero quota", "limits {\n  leases_per_uid = 0\n}\n" + strings.Replace(cred, "%s", "", 1),
			`t.hcl:2,3: limits: leases_per_uid: must be a whole number of at least 1`},
		{"fractional quota", "limits {\n  connections_per_uid = 1.5\n}\n" + strings.Replace(cred, "%s", "", 1),
			`t.hcl:2,3: limits: connections_per_uid: must be a whole number of at least 1`},
		{"unknown limit", "limits {\n  tokens_per_uid = 3\n}\n" + strings.Replace(cred, "%s", "", 1),
			`t.hcl:2,3: limits: tokens_per_uid: unknown attribute`},
		{"lifetime below lease_ttl", strings.Replace(cred, "%s", `  lease_max_lifetime = "5m"`, 1),
			`lease_max_lifetime: must be at least lease_ttl (15m0s), got 5m0s`},
		{"negative lifetime", strings.Replace(cred, "%s", `  lease_max_lifetime = "-1h"`, 1),
			`lease_max_lifetime: must be positive`},
	}
	for _, b := range bad {
		_, err := Parse([]byte(b.src), "t.hcl")
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want %q", b.name, err, b.want)
		}
	}
}
