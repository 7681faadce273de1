package peer

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

// TestSocketWatchRunNotices: Run notices a deleted or replaced socket
// file from the directory's change notifications, well before its
// periodic recheck, and stops serving with ErrSocketGone; when ctx ends
// first it returns without calling stop, even though closing the
// listener removed the file.
func TestSocketWatchRunNotices(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(path string) error
		want string // "" when ctx ends first
	}{
		{"deleted", os.Remove, "was deleted"},
		{"replaced by rename", func(p string) error {
			other := p + ".new"
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				return err
			}
			return os.Rename(other, p)
		}, "was replaced by another file"},
		{"stopping", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.sock")
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			w := NewSocketWatch(path, l, hclog.NewNullLogger())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopped := make(chan error, 1)
			ran := make(chan struct{})
			go func() { defer close(ran); w.Run(ctx, func(err error) { stopped <- err }) }()
			if tc.do == nil {
				cancel()
				<-ran
				l.Close()
				select {
				case err := <-stopped:
					t.Fatalf("stop called with %v after ctx ended", err)
				default:
				}
				return
			}
			if err := tc.do(path); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-stopped:
				if !errors.Is(err, ErrSocketGone) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("stop(%v), want ErrSocketGone saying %q", err, tc.want)
				}
			case <-time.After(socketRecheckInterval / 2):
				t.Fatalf("not noticed within %s", socketRecheckInterval/2)
			}
			<-ran
		})
	}
}
