// Package compose holds the compose fragment that swaps the gh-aw
// api-proxy service for the awf-broker sidecar; its test keeps the
// fragment true to the api-proxy's contract and to the real CLI.
package compose

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/awf-broker/awf-broker/internal/procs"
)

// service is the part of a compose service the contract is about. The
// fragment's !override and !reset tags are compose merge directives;
// decoding through yaml.Node keeps their values and drops the tags.
type service struct {
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Volumes     []string          `yaml:"volumes"`
	Environment map[string]string `yaml:"environment"`
	Expose      []string          `yaml:"expose"`
	ReadOnly    bool              `yaml:"read_only"`
	CapDrop     []string          `yaml:"cap_drop"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// built holds the binaries, built on first use; TestMain removes them.
var built procs.Cached

func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

func load(t *testing.T) service {
	t.Helper()
	b, err := os.ReadFile("api-proxy.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("api-proxy.yml: %v", err)
	}
	if len(doc.Services) != 1 {
		t.Fatalf("api-proxy.yml defines %d services, want only api-proxy", len(doc.Services))
	}
	n, ok := doc.Services["api-proxy"]
	if !ok {
		t.Fatal("api-proxy.yml does not keep the api-proxy service name")
	}
	// Drop the merge tags so the values decode as their plain kinds.
	var untag func(*yaml.Node)
	untag = func(n *yaml.Node) {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			n.Tag = ""
		}
		for _, c := range n.Content {
			untag(c)
		}
	}
	untag(&n)
	var s service
	if err := n.Decode(&s); err != nil {
		t.Fatalf("api-proxy.yml: the api-proxy service: %v", err)
	}
	return s
}

// TestFragmentKeepsTheContract: the api-proxy's ports and healthcheck, only
// the broker's socket mounted, no credential handed to the container.
func TestFragmentKeepsTheContract(t *testing.T) {
	s := load(t)
	if want := []string{"10000", "10001", "10002", "10003", "10004"}; !slices.Equal(s.Expose, want) {
		t.Errorf("expose = %q, want the api-proxy's ports %q", s.Expose, want)
	}
	if len(s.Volumes) != 1 || !strings.HasSuffix(s.Volumes[0], ":"+s.Environment["AWF_BROKER_SOCKET"]) {
		t.Errorf("volumes = %q, want only the broker's socket at AWF_BROKER_SOCKET (%q)", s.Volumes, s.Environment["AWF_BROKER_SOCKET"])
	}
	for _, k := range []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "COPILOT_GITHUB_TOKEN", "COPILOT_PROVIDER_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		if v, ok := s.Environment[k]; !ok || v != "" {
			t.Errorf("environment %s is not blanked: the broker on the host holds it, never the container", k)
		}
	}
	if !slices.Contains(s.Healthcheck.Test, "http://localhost:10000/health") {
		t.Errorf("healthcheck = %q, want AWF's check of http://localhost:10000/health", s.Healthcheck.Test)
	}
	if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) {
		t.Errorf("read_only = %v, cap_drop = %q: want a read-only root and no capabilities", s.ReadOnly, s.CapDrop)
	}
}

// TestFragmentRunsARealCommand: entrypoint and command together are an
// awf-broker-cli sidecar invocation the built CLI accepts, arguments and
// values included.
func TestFragmentRunsARealCommand(t *testing.T) {
	s := load(t)
	if len(s.Entrypoint) < 2 || filepath.Base(s.Entrypoint[0]) != "awf-broker-cli" || s.Entrypoint[1] != "sidecar" {
		t.Fatalf("entrypoint = %q, want awf-broker-cli sidecar", s.Entrypoint)
	}
	bin := built.Must(t).CLI
	// --max-wait last: with no broker the sidecar gives up at once.
	args := append(append(slices.Clone(s.Entrypoint[1:]), s.Command...), "--max-wait", "100ms")
	if err := procs.CheckCLI(context.Background(), bin, args...); err != nil {
		t.Fatal(err)
	}
}
