package agents

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnsureWithoutNodeSaysWhich: with node or npm missing from PATH,
// Ensure returns ErrNoNode naming the missing command, and installs nothing.
func TestEnsureWithoutNodeSaysWhich(t *testing.T) {
	onlyNode := t.TempDir()
	if err := os.WriteFile(filepath.Join(onlyNode, "node"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"no node", t.TempDir(), "node is not on PATH"},
		{"node but no npm", onlyNode, "npm is not on PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			dir := t.TempDir()
			_, err := Ensure(context.Background(), dir)
			if !errors.Is(err, ErrNoNode) || !strings.HasSuffix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrNoNode ending %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "node_modules")); !os.IsNotExist(err) {
				t.Errorf("node_modules touched: %v", err)
			}
		})
	}
}

// TestFresh: an install counts as fresh only when its stamp is newer than
// both package files and both commands exist.
func TestFresh(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name       string
		stampAge   time.Duration // < 0: no stamp
		lockAge    time.Duration
		noCodexBin bool
		want       bool
	}{
		{"stamp newer than the lock", time.Minute, time.Hour, false, true},
		{"lock changed after the install", time.Hour, time.Minute, false, false},
		{"never installed", -1, time.Hour, false, false},
		{"a command is missing", time.Minute, time.Hour, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "node_modules", ".bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			touch := func(p string, age time.Duration) {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
					t.Fatal(err)
				}
			}
			touch(filepath.Join(dir, "package.json"), tc.lockAge)
			touch(filepath.Join(dir, "package-lock.json"), tc.lockAge)
			touch(filepath.Join(bin, "claude"), 0)
			if !tc.noCodexBin {
				touch(filepath.Join(bin, "codex"), 0)
			}
			if tc.stampAge >= 0 {
				touch(filepath.Join(dir, "node_modules", stampName), tc.stampAge)
			}
			s := Set{Dir: dir, Claude: filepath.Join(bin, "claude"), Codex: filepath.Join(bin, "codex")}
			if got := fresh(s); got != tc.want {
				t.Errorf("fresh = %v, want %v", got, tc.want)
			}
		})
	}
}
