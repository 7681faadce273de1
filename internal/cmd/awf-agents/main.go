// Command awf-agents installs the real agents pinned in testdata/agents
// (npm ci, when the install is missing or older than the lock file) for
// the tests that run them: `make agents`, which `make test` runs first.
// Without node or npm it says the agent tests will skip and exits 0,
// unless AWF_AGENT_TESTS=required.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/internal/agents"
)

func main() {
	dir := flag.String("dir", "testdata/agents", "directory holding the agents' package.json")
	flag.Parse()
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "awf-agents:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := agents.Ensure(ctx, abs)
	switch {
	case errors.Is(err, agents.ErrNoNode) && !agents.Required():
		fmt.Printf("awf-agents: %v; the real-agent tests will skip (%s=required makes them fail instead)\n", err, agents.RequiredEnv)
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "awf-agents:", err)
		os.Exit(1)
	}
	var versions []string
	for _, bin := range []string{s.Claude, s.Codex} {
		out, err := exec.CommandContext(ctx, bin, "--version").Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "awf-agents: %s --version: %v\n", filepath.Base(bin), err)
			os.Exit(1)
		}
		versions = append(versions, strings.TrimSpace(string(out)))
	}
	fmt.Printf("awf-agents: %s ready in %s (%s)\n", strings.Join(versions, ", "), *dir, time.Since(start).Round(time.Millisecond))
}
