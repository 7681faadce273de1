package benchsuite

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
)

// The config the bench writes for its broker processes, read back as the
// daemon reads it, lets one uid hold the process step's leases (the
// per-uid quota once refused the 257th) and reaches the bench's loopback
// upstreams.
func TestBenchConfigAllowsTheLeases(t *testing.T) {
	dev, err := devenv.Start(filepath.Join(t.TempDir(), "broker.sock"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	const leases = 10000
	benchConfig(dev.Config, leases)
	cfg, err := config.Parse([]byte(dev.HCL()), "broker.hcl")
	if err != nil {
		t.Fatalf("the bench's config does not parse: %v", err)
	}
	if cfg.Limits.LeasesPerUID <= leases {
		t.Errorf("limits.leases_per_uid = %d, want above %d", cfg.Limits.LeasesPerUID, leases)
	}
	for _, c := range cfg.Credentials {
		if !slices.Contains(c.Hosts, "127.0.0.1") {
			t.Errorf("credential %s: hosts %v lack 127.0.0.1", c.Name, c.Hosts)
		}
	}
}
