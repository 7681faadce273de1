package main

import (
	"path/filepath"
	"testing"
)

// TestSidecarPortOffsetIsAUsageError: an offset that puts a port outside
// 1-65535 or below the base exits 2 with the reason, before the broker is
// asked anything (the socket does not exist).
func TestSidecarPortOffsetIsAUsageError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, tc := range []struct {
		offset, stderr string
	}{
		{"60000", "error: --port-offset 60000: sidecar: ports 70000-70004: out of range (1-65535)\n"},
		{"55532", "error: --port-offset 55532: sidecar: ports 65532-65536: out of range (1-65535)\n"},
		{"-1", "error: --port-offset -1: must not be negative\n"},
	} {
		stdout, stderr, code := runCLI(sock, nil, "sidecar", "--port-offset", tc.offset)
		if code != 2 || stderr != tc.stderr || stdout != "" {
			t.Errorf("--port-offset %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.offset, code, stdout, stderr, tc.stderr)
		}
	}
}
