package procs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// cliUnreachable is awf-broker-cli's exit code for a broker it cannot
// reach (exitUnreachable in cmd/awf-broker-cli); 2 is a bad command line.
const cliUnreachable = 3

// cliCheckTimeout bounds one CheckCLI run: the CLI gives up on a missing
// socket at once, so only a command that hangs comes near it.
const cliCheckTimeout = 30 * time.Second

// CheckCLI runs the built CLI with args against a socket that does not
// exist and reports whether the command line is one the CLI accepts: the
// CLI checks its arguments and flag values first, so an accepted command
// exits unreachable (3) when it dials the broker, a bad one exits usage
// (2). Unlike --help, which cobra answers before checking either, this
// fails on an extra argument or a bad value. Nothing is served: every
// command dials the broker before it listens anywhere.
func CheckCLI(ctx context.Context, cli string, args ...string) error {
	dir, err := os.MkdirTemp("", "awf-no-broker-")
	if err != nil {
		return fmt.Errorf("check awf-broker-cli %q: %w", args, err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, cliCheckTimeout)
	defer cancel()
	argv := append(append([]string{}, args...), "--socket", filepath.Join(dir, "missing", "broker.sock"))
	out, err := exec.CommandContext(ctx, cli, argv...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("awf-broker-cli %q did not exit within %v:\n%s", args, cliCheckTimeout, out)
	case errors.As(err, &ee) && ee.ExitCode() == cliUnreachable:
		return nil
	case err == nil:
		return fmt.Errorf("awf-broker-cli %q exited 0 with no broker, want exit %d (broker unreachable):\n%s", args, cliUnreachable, out)
	default:
		return fmt.Errorf("awf-broker-cli %q: %w, want exit %d (broker unreachable):\n%s", args, err, cliUnreachable, strings.TrimSpace(string(out)))
	}
}
