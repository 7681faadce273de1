package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists the packages pkg imports, transitively (the go tool's view).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestDeps keeps the wire types stdlib-only and the client free of the
// daemon, so forwarders link none of the broker; and the config reader
// free of the lease store and the server, which it only feeds.
func TestDeps(t *testing.T) {
	const mod = "github.com/awf-broker/awf-broker/"
	for _, d := range deps(t, mod+"api") {
		if d != mod+"api" {
			t.Errorf("api imports %s: it must stay stdlib-only", d)
		}
	}
	for _, pkg := range []string{mod + "client", mod + "client/forward"} {
		for _, d := range deps(t, pkg) {
			if strings.HasPrefix(d, mod+"broker") {
				t.Errorf("%s imports %s: client/ must not import broker/", pkg, d)
			}
		}
	}
	for _, d := range deps(t, mod+"broker/config") {
		if d == mod+"broker/lease" || d == mod+"broker/server" {
			t.Errorf("broker/config imports %s: it must not import the lease store or the server", d)
		}
	}
}
