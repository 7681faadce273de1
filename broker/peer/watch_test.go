package peer

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestSocketWatchCheck: the watch passes while its file is in place, and
// names deletion and replacement apart, both as ErrSocketGone.
func TestSocketWatchCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		do    func(path string) error
		wants string
	}{
		{"in place", func(string) error { return nil }, ""},
		{"deleted", os.Remove, "was deleted"},
		{"replaced", func(p string) error {
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.WriteFile(p, nil, 0o600)
		}, "was replaced by another file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.sock")
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			w := NewSocketWatch(path, l, hclog.NewNullLogger())
			if w == nil {
				t.Fatal("no watch")
			}
			if err := tc.do(path); err != nil {
				t.Fatal(err)
			}
			err = w.Check()
			if tc.wants == "" {
				if err != nil {
					t.Fatalf("check = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrSocketGone) || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("check = %v, want ErrSocketGone saying %q", err, tc.wants)
			}
		})
	}
}
