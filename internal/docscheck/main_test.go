package docscheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/awf-broker/awf-broker/internal/procs"
)

// bins are the real awf-brokerd and awf-broker-cli, built once.
var bins procs.Bins

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docscheck-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = procs.Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// checkConfig runs awf-brokerd --check-config.
func checkConfig(file string) (string, bool, error) {
	out, err := exec.Command(bins.Daemon, "--check-config", file).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), false, nil
	}
	return string(out), err == nil, err
}

// helpCache asks the real binaries for their help, once per command.
type helpCache struct {
	mu   sync.Mutex
	seen map[string]*Command
}

func (h *helpCache) help(prog string, path []string) (*Command, error) {
	key := prog + " " + strings.Join(path, " ")
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.seen[key]; ok {
		return c, nil
	}
	var c *Command
	switch prog {
	case "awf-brokerd":
		// -h makes the flag package print the flags and exit 2.
		out, _ := exec.Command(bins.Daemon, "-h").CombinedOutput()
		c = ParseGoFlagHelp(string(out))
	case "awf-broker-cli":
		out, err := exec.Command(bins.CLI, append(append([]string{}, path...), "--help")...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s --help: %w: %s", key, err, out)
		}
		c = ParseCobraHelp(prog, path, string(out))
	default:
		return nil, fmt.Errorf("no help for %s", prog)
	}
	if len(c.Flags) == 0 {
		return nil, fmt.Errorf("%s: no flags in its help; has the help format changed?", key)
	}
	if h.seen == nil {
		h.seen = map[string]*Command{}
	}
	h.seen[key] = c
	return c, nil
}

// checkDoc runs every check on d.
func checkDoc(t *testing.T, root string, d *Doc, h *helpCache) []Problem {
	t.Helper()
	out := CheckLinks(root, d)
	out = append(out, CheckHCL(d, t.TempDir(), checkConfig)...)
	for _, inv := range FindInvocations(d, "awf-brokerd", "awf-broker-cli") {
		out = append(out, CheckInvocation(d.Path, inv, h.help)...)
	}
	return out
}
