package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/client"
)

// recorder is an upstream that keeps what each request carried.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]http.Header // by path
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{seen: map[string]http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		h := req.Header.Clone()
		h.Set("X-Test-Raw-Query", req.URL.RawQuery)
		r.seen[req.URL.Path] = h
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) at(path string) http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[path]
}

func newKey(t *testing.T) string {
	b := make([]byte, 12)
	rand.Read(b)
	return "k-" + hex.EncodeToString(b)
}

// TestEnvThroughBrokerAndSidecar: an api-proxy environment with every
// static key and its targets, copied unchanged into the broker, comes out
// of the sidecar as the api-proxy's providers on the api-proxy's ports,
// each request upstream carrying exactly its provider's header.
func TestEnvThroughBrokerAndSidecar(t *testing.T) {
	up := newRecorder(t)
	host := strings.TrimPrefix(up.srv.URL, "http://")
	keys := map[string]string{"OPENAI_API_KEY": newKey(t), "ANTHROPIC_API_KEY": newKey(t), "COPILOT_GITHUB_TOKEN": newKey(t),
		"GEMINI_API_KEY": newKey(t), "GOOGLE_API_KEY": newKey(t)}
	env := map[string]string{
		"AWF_AUTH_TYPE": "api-key", "AWF_AUTH_PROVIDER": "anthropic",
		"OPENAI_API_TARGET": "http://" + host, "OPENAI_API_BASE_PATH": "/openai",
		"ANTHROPIC_API_TARGET": "http://" + host + "/anthropic",
		"COPILOT_API_TARGET":   "http://" + host + "/copilot",
		"GEMINI_API_TARGET":    "http://" + host + "/gemini", "VERTEX_API_TARGET": "http://" + host + "/vertex",
	}
	for k, v := range keys {
		env[k] = v
	}
	s := startSidecar(t, startEnvBroker(t, env), nil)

	cases := []struct {
		port         int
		path, sent   string // the agent's path; where the upstream saw it
		header, want string
	}{
		{0, "/v1/chat/completions", "/openai/v1/chat/completions", "Authorization", "Bearer " + keys["OPENAI_API_KEY"]},
		{1, "/v1/messages", "/anthropic/v1/messages", "X-Api-Key", keys["ANTHROPIC_API_KEY"]},
		{2, "/chat/completions", "/copilot/chat/completions", "Authorization", "Bearer " + keys["COPILOT_GITHUB_TOKEN"]},
		{3, "/v1beta/models/m:generateContent?key=placeholder-from-the-agent&alt=sse", "/gemini/v1beta/models/m:generateContent", "X-Goog-Api-Key", keys["GEMINI_API_KEY"]},
		{4, "/v1/projects/p/x", "/vertex/v1/projects/p/x", "X-Goog-Api-Key", keys["GOOGLE_API_KEY"]},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodPost, s.url(tc.port, tc.path), strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer placeholder-from-the-agent")
		req.Header.Set("X-Api-Key", "placeholder-from-the-agent")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("port +%d %s: %d %s", tc.port, tc.path, resp.StatusCode, body)
			continue
		}
		h := up.at(tc.sent)
		if h == nil {
			t.Errorf("port +%d: the upstream never saw %s", tc.port, tc.sent)
			continue
		}
		if got := h.Values(tc.header); len(got) != 1 || got[0] != tc.want {
			t.Errorf("port +%d: upstream %s = %q, want the provider's key", tc.port, tc.header, got)
		}
		for _, other := range []string{"Authorization", "X-Api-Key", "X-Goog-Api-Key"} {
			if other != tc.header && h.Get(other) != "" {
				t.Errorf("port +%d: upstream also saw %s", tc.port, other)
			}
		}
		if q := h.Get("X-Test-Raw-Query"); strings.Contains(q, "key=") {
			t.Errorf("port +%d: the agent's key parameter went upstream: %q", tc.port, q)
		}
		if v := h.Get("Anthropic-Version"); (tc.port == 1) != (v == "2023-06-01") {
			t.Errorf("port +%d: anthropic-version %q", tc.port, v)
		}
	}
}

// TestEnvGHESRequestURLAccepted: a GitHub Enterprise Server runner's own
// request URL, from the api-proxy environment, is accepted at start (the
// identity's allowed hosts admit it), where GitHub.com's pattern alone
// would refuse it.
func TestEnvGHESRequestURLAccepted(t *testing.T) {
	env := map[string]string{
		"AWF_AUTH_TYPE": "github-oidc", "AWF_AUTH_PROVIDER": "anthropic",
		"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID": "fdrl_1", "AWF_AUTH_ANTHROPIC_ORGANIZATION_ID": "org_1",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://ghes.example.com/_services/pipelines/idtoken?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": newKey(t),
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.FromEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Socket.Path = filepath.Join(t.TempDir(), "broker.sock")
	if _, err := New(Options{Config: cfg, Lookup: lookup, Logger: hclog.NewNullLogger()}); err != nil {
		t.Fatalf("GHES request URL refused: %v", err)
	}
	id, _ := cfg.Identity("github")
	id.AllowedRequestHosts = id.AllowedRequestHosts[:1]
	if _, err := New(Options{Config: cfg, Lookup: lookup, Logger: hclog.NewNullLogger()}); err == nil {
		t.Fatal("without the env's host the request URL was accepted; the test proves nothing")
	}
}

// startEnvBroker runs a daemon built by config.FromEnv from env and
// returns a client once it is ready.
func startEnvBroker(t *testing.T, env map[string]string) *client.Client {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.FromEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Socket.Path = filepath.Join(t.TempDir(), "broker.sock")
	b := runDaemon(t, nil, 0, Options{Config: cfg, Lookup: lookup})
	b.waitReady()
	return b.client
}

// TestEnvAnthropicOIDCThroughSidecar: the environment gh-aw writes for
// engine.auth with the Anthropic provider, pointed at the strict fakes,
// serves Messages calls on port 10001 (+offset): the fake verified the
// GitHub JWT at the exchange, and the bearer, the OAuth beta (beside the
// client's own) and anthropic-version on the call.
func TestEnvAnthropicOIDCThroughSidecar(t *testing.T) {
	dev, err := devenv.Start(filepath.Join(t.TempDir(), "unused.sock"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	c := startEnvBroker(t, map[string]string{
		"AWF_AUTH_TYPE": " GitHub-OIDC", "AWF_AUTH_PROVIDER": "Anthropic ",
		"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID": devenv.RuleID, "AWF_AUTH_ANTHROPIC_ORGANIZATION_ID": devenv.OrgID,
		"AWF_AUTH_ANTHROPIC_SERVICE_ACCOUNT_ID": devenv.ServiceAccountID, "AWF_AUTH_ANTHROPIC_WORKSPACE_ID": "",
		"AWF_AUTH_ANTHROPIC_TOKEN_URL": dev.Anthropic.TokenURL(), "ANTHROPIC_API_TARGET": dev.API.URL(),
		"ACTIONS_ID_TOKEN_REQUEST_URL":   dev.Env["ACTIONS_ID_TOKEN_REQUEST_URL"],
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": dev.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
		"ANTHROPIC_API_KEY":              "",
	})
	s := startSidecar(t, c, nil)
	req, _ := http.NewRequest(http.MethodPost, s.url(1, "/v1/messages"),
		strings.NewReader(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-beta", "tools-2024-04-04")
	req.Header.Set("x-api-key", "sk-ant-placeholder-key-for-credential-isolation")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || dev.API.Served() != 1 {
		t.Fatalf("messages = %d %s (fake served %d)", resp.StatusCode, body, dev.API.Served())
	}
	hs := dev.API.Headers()
	h := hs[len(hs)-1]
	if h.Get("Anthropic-Beta") != "tools-2024-04-04,oauth-2025-04-20" || h.Get("Anthropic-Version") != "2023-06-01" || h.Get("X-Api-Key") != "" {
		t.Errorf("upstream saw anthropic-beta %q anthropic-version %q x-api-key set %v",
			h.Get("Anthropic-Beta"), h.Get("Anthropic-Version"), h.Get("X-Api-Key") != "")
	}
}
