// Command awf-broker-cli inspects and manages the broker's credentials and
// leases, and runs the forwarder.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/awf-broker/awf-broker/client"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitRefused     = 1
	exitUsage       = 2
	exitUnreachable = 3
)

// env is what a command run sees of the world; tests inject their own.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

func main() {
	if filepath.Base(os.Args[0]) == "curl" {
		// The sidecar image links itself as curl for AWF's healthcheck.
		os.Exit(curlProbe(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	e := env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
	os.Exit(execute(context.Background(), e, os.Args[1:]))
}

// usageError marks errors of the command line itself.
type usageError struct{ error }

// execute runs the CLI and maps its error onto the exit code.
func execute(ctx context.Context, e env, args []string) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *client.Error
	var ue *client.UnreachableError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "error: cannot reach the broker at %s: %v (is awf-brokerd running?)\n", ue.Socket, ue.Err)
		return exitUnreachable
	case errors.As(err, &ce):
		fmt.Fprintf(e.stderr, "error: %s: %s (%s)\n", ce.Title, ce.Detail, ce.Code)
		return exitRefused
	case errors.Is(err, errNotReady):
		return exitRefused // its line is printed
	case errors.As(err, new(usageError)):
		fmt.Fprintf(e.stderr, "error: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "error: %v\n", err)
		if isFlagError(err) {
			return exitUsage
		}
		return exitRefused
	}
}
