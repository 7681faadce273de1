// Package agents installs and finds the real agents pinned in
// testdata/agents (Claude Code, Codex and the AWS SDK for JavaScript's
// Bedrock Runtime client), for the tests that run them against the broker.
package agents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// RequiredEnv, set to "required", makes a missing node or npm an error
// instead of a reason to skip; CI sets it (.ci/run).
const RequiredEnv = "AWF_AGENT_TESTS"

// ErrNoNode says node or npm is not on PATH: the agents cannot run here.
var ErrNoNode = errors.New("node and npm are needed to run the real agents")

// Set is an installed agent set.
type Set struct {
	// Dir is the directory holding package.json and node_modules.
	Dir string
	// Node is the node binary; Claude and Codex the agents' commands.
	Node, Claude, Codex string
}

// Required reports whether the environment demands the agent tests run.
func Required() bool { return os.Getenv(RequiredEnv) == "required" }

// stampName marks a finished install; it is newer than the lock file it
// installed (the same rule make applies).
const stampName = ".awf-installed"

// Ensure returns the agents installed in dir (testdata/agents), running
// `npm ci` first when node_modules is missing or older than
// package-lock.json. Concurrent callers wait on a lock file in dir.
func Ensure(ctx context.Context, dir string) (Set, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return Set{}, fmt.Errorf("%w: node is not on PATH", ErrNoNode)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return Set{}, fmt.Errorf("%w: npm is not on PATH", ErrNoNode)
	}
	s := Set{Dir: dir, Node: node,
		Claude: filepath.Join(dir, "node_modules", ".bin", "claude"),
		Codex:  filepath.Join(dir, "node_modules", ".bin", "codex")}
	unlock, err := lockDir(dir)
	if err != nil {
		return Set{}, err
	}
	defer unlock()
	if fresh(s) {
		return s, nil
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return Set{}, fmt.Errorf("npm ci in %s (after %s): %w\n%s", dir, time.Since(start).Round(time.Second), err, tail(out.String(), 20))
	}
	for _, bin := range []string{s.Claude, s.Codex} {
		if _, err := os.Stat(bin); err != nil {
			return Set{}, fmt.Errorf("npm ci in %s installed no %s: %w", dir, filepath.Base(bin), err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", stampName), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return Set{}, fmt.Errorf("mark the install done: %w", err)
	}
	return s, nil
}

// fresh reports whether the install stamp is newer than package.json and
// package-lock.json and both commands exist.
func fresh(s Set) bool {
	st, err := os.Stat(filepath.Join(s.Dir, "node_modules", stampName))
	if err != nil {
		return false
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		fi, err := os.Stat(filepath.Join(s.Dir, f))
		if err != nil || fi.ModTime().After(st.ModTime()) {
			return false
		}
	}
	for _, bin := range []string{s.Claude, s.Codex} {
		if _, err := os.Stat(bin); err != nil {
			return false
		}
	}
	return true
}

// lockDir takes an exclusive lock on dir/.install.lock (flock: released
// if the process dies) and returns its release.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
