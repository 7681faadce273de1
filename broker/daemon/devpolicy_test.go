package daemon

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// TestDevListsLoopback: the --dev config lists the GitHub fake's loopback
// host in allowed_request_hosts, in Go and in its HCL, so that a job that
// is not an admin may register it (loopback is never implied).
func TestDevListsLoopback(t *testing.T) {
	dev, err := devenv.Start(filepath.Join(t.TempDir(), "b.sock"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	parsed, err := config.Parse([]byte(dev.HCL()), "dev.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*config.Config{dev.Config, parsed} {
		id, ok := cfg.Identity("github")
		if !ok || !slices.Equal(id.AllowedRequestHosts, []string{"127.0.0.1"}) {
			t.Fatalf("%s: identity github %+v, want allowed_request_hosts [127.0.0.1]", cfg.Source, id)
		}
		cp := *cfg
		cp.Identities = []config.Identity{*id}
		cp.Identities[0].Allow = config.Allow{UIDs: []uint32{4242}}
		job := peer.Cred{UID: 4242, GID: 4242}
		if err := policyOf(&cp, 999).MayRegisterIdentity(job, "github", dev.GitHub.RequestURL()); err != nil {
			t.Errorf("%s: a non-admin job registering the fake: %v", cfg.Source, err)
		}
	}
}
