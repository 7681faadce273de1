package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			w := newSocketWatch(path, l, hclog.NewNullLogger())
			if w == nil {
				t.Fatal("no watch")
			}
			if err := tc.do(path); err != nil {
				t.Fatal(err)
			}
			err = w.check()
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

// TestSocketWatchStopsRun: the in-process daemon returns ErrSocketGone
// from Run when its socket file is deleted.
func TestSocketWatchStopsRun(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	if err := os.Remove(b.sock); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.done:
		if !errors.Is(err, ErrSocketGone) {
			t.Fatalf("Run = %v, want ErrSocketGone", err)
		}
		b.done <- nil // the harness's close() waits on it
	case <-time.After(15 * time.Second):
		t.Fatal("Run still serving 15 s after its socket file was deleted")
	}
	if _, err := b.client.Health(context.Background()); err == nil {
		t.Error("health answered without a socket file")
	}
}
