package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestWriteRoundTrip: what Write renders, Parse reads back to the same
// Config, for the fullest file we have (every provider, identity kinds,
// allow lists, admin, metrics).
func TestWriteRoundTrip(t *testing.T) {
	cfg, _ := loadTestdata(t, "good-full.hcl")
	cfg.Metrics.AllowRemote = true
	cfg.Metrics.Listen = "0.0.0.0:9464"
	cfg.Limits = Limits{LeasesPerUID: 3, SubscribersPerUID: 2, ConnectionsPerUID: 9}
	cfg.Credentials[0].LeaseMaxLifetime = 2 * time.Hour
	out := Write(cfg)
	back, err := Parse(out, "written.hcl")
	if err != nil {
		t.Fatalf("Parse(Write(cfg)): %v\n%s", err, out)
	}
	back.Source = cfg.Source
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v\nfile:\n%s", back, cfg, out)
	}
	for _, want := range []string{`credential "bedrock" {`, `role_arn`, `allow_remote = true`, `"0660"`, "leases_per_uid", `lease_max_lifetime`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("written file lacks %q:\n%s", want, out)
		}
	}
}
