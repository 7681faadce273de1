package procs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Bins are the paths of the built binaries.
type Bins struct {
	Daemon, CLI string
}

// Build compiles both binaries into dir with the go command on PATH.
func Build(ctx context.Context, dir string) (Bins, error) {
	root, err := moduleRoot()
	if err != nil {
		return Bins{}, err
	}
	b := Bins{Daemon: filepath.Join(dir, "awf-brokerd"), CLI: filepath.Join(dir, "awf-broker-cli")}
	for out, pkg := range map[string]string{b.Daemon: "./cmd/awf-brokerd", b.CLI: "./cmd/awf-broker-cli"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return Bins{}, fmt.Errorf("build %s: %w\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Cached builds the binaries on the first call of Bins, once, into a
// temporary directory that Remove deletes: for a test package's TestMain,
// so that `go test -run` of tests that run no binary builds nothing. Its
// zero value is ready.
type Cached struct {
	once sync.Once
	dir  string
	bins Bins
	err  error
}

// Bins builds the binaries if no call has yet, and returns them or the
// first call's error.
func (c *Cached) Bins(ctx context.Context) (Bins, error) {
	c.once.Do(func() {
		if c.dir, c.err = os.MkdirTemp("", "awf-bins-"); c.err != nil {
			c.err = fmt.Errorf("build: %w", c.err)
			return
		}
		c.bins, c.err = Build(ctx, c.dir)
	})
	return c.bins, c.err
}

// Must is Bins for a test: a failed build fails t.
func (c *Cached) Must(t interface {
	Helper()
	Fatal(args ...any)
}) Bins {
	t.Helper()
	b, err := c.Bins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Remove deletes the built binaries; call it once the tests are done.
func (c *Cached) Remove() {
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}
