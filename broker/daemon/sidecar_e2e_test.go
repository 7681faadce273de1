package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/apitest"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// runningSidecar is forward.RunSidecar on a free run of five loopback ports.
type runningSidecar struct {
	base    int
	started time.Time
	done    chan error
	stop    context.CancelFunc
}

func (s *runningSidecar) url(offset int, path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.base+offset) + path
}

// startSidecar runs the sidecar against c; the base port is picked at
// random and retried when another process holds one of the five ports.
func startSidecar(t *testing.T, c *client.Client, ups map[string]*url.URL, pick ...map[string]string) *runningSidecar {
	t.Helper()
	for try := 0; try < 20; try++ {
		s := &runningSidecar{base: 20000 + rand.IntN(40000), done: make(chan error, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		opened := make(chan struct{}, 8)
		s.started = time.Now()
		go func() {
			s.done <- forward.RunSidecar(ctx, forward.SidecarConfig{
				Client: c, Bind: "127.0.0.1", BasePort: s.base, Upstreams: ups, MaxWait: 3 * time.Second, Credentials: first(pick),
				Listening: func(string, string, net.Addr, *url.URL) { opened <- struct{}{} },
			})
		}()
		select {
		case <-opened:
			t.Cleanup(func() {
				cancel()
				if err := <-s.done; err != nil {
					t.Errorf("sidecar: %v", err)
				}
			})
			return s
		case err := <-s.done:
			cancel()
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			t.Fatalf("sidecar did not start: %v", err)
		}
	}
	t.Fatal("no free run of five ports")
	return nil
}

func first(m []map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, b)
	}
	return resp.StatusCode
}

type healthBody struct {
	Status    string          `json:"status"`
	Service   string          `json:"service"`
	Providers map[string]bool `json:"providers"`
}

// TestSidecarServesTheAPIProxyPorts: against the --dev broker the sidecar
// opens every api-proxy port the dev credentials name, answers /health on
// each within a second of starting, /reflect on the openai port, and a
// Messages call on the anthropic port reaches the fake with the broker's
// bearer and the default anthropic-version.
func TestSidecarServesTheAPIProxyPorts(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	s := startSidecar(t, b.client, nil)

	var h healthBody
	if code := getJSON(t, s.url(0, "/health"), &h); code != http.StatusOK || h.Status != "healthy" || h.Service != "awf-api-proxy" {
		t.Fatalf("port 10000 /health = %d %+v", code, h)
	}
	if took := time.Since(s.started); took > time.Second {
		t.Errorf("first /health answered %s after start, want well under a second", took)
	}
	// The dev broker has "openai", "anthropic" and "vertex"; "copilot" and "gemini" are not there.
	testharness.Eventually(5*time.Second, func() bool { getJSON(t, s.url(1, "/health"), &h); return h.Providers["anthropic"] })
	if h.Service != "awf-api-proxy-anthropic" || !h.Providers["anthropic"] || h.Providers["copilot"] || h.Providers["gemini"] || len(h.Providers) != 5 {
		t.Errorf("port 10001 /health = %+v", h)
	}
	for _, off := range []int{2, 3} {
		if _, err := http.Get(s.url(off, "/health")); err == nil {
			t.Errorf("port %d is open without a credential of its name", s.base+off)
		}
	}

	var r struct {
		Endpoints []struct {
			Provider   string `json:"provider"`
			Port       int    `json:"port"`
			BaseURL    string `json:"base_url"`
			Configured bool   `json:"configured"`
		} `json:"endpoints"`
	}
	if code := getJSON(t, s.url(0, "/reflect"), &r); code != http.StatusOK || len(r.Endpoints) != 5 {
		t.Fatalf("/reflect = %d %+v", code, r)
	}
	want := map[string]bool{"openai": true, "anthropic": true, "copilot": false, "gemini": false, "vertex": true}
	for i, e := range r.Endpoints {
		if e.Port != s.base+i || e.Configured != want[e.Provider] || e.BaseURL != "http://api-proxy:"+strconv.Itoa(s.base+i) {
			t.Errorf("/reflect endpoint %d = %+v", i, e)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, s.url(1, "/v1/messages"),
		strings.NewReader(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", "placeholder-the-agent-holds")
	req.Header.Set("cookie", "session=from-the-agent")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("messages through the sidecar = %d %s", resp.StatusCode, body)
	}
	hs := b.dev.API.Headers()
	got := hs[len(hs)-1]
	if got.Get("anthropic-version") != "2023-06-01" || got.Get("Cookie") != "" || got.Get("X-Api-Key") != "" {
		t.Errorf("upstream saw anthropic-version %q cookie %q x-api-key %q", got.Get("anthropic-version"), got.Get("Cookie"), got.Get("X-Api-Key"))
	}
	if id := got.Get("X-Request-Id"); id == "" || resp.Header.Get("X-Request-Id") != id {
		t.Errorf("x-request-id upstream %q, echoed %q", id, resp.Header.Get("X-Request-Id"))
	}

	// The unconfigured-provider answer on a path the openai port has no
	// credential for is the forwarder's; the management paths carry no secret.
	for _, p := range []string{"/health", "/reflect"} {
		resp, err := http.Get(s.url(0, p))
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if v := b.dev.Env[devenv.KeyEnv]; strings.Contains(string(b2), v) || strings.Contains(string(b2), "sk-ant-") {
			t.Errorf("%s carries a secret: %s", p, b2)
		}
	}
}

// TestSidecarHealthBeforeTheFirstToken: a credential whose exchange fails
// still gets its port, /health answers 200 at once with it false, and a
// request on it gets a provider-shaped 503, never an unauthenticated call.
func TestSidecarHealthBeforeTheFirstToken(t *testing.T) {
	b := startBroker(t, brokerOpts{noReady: true, wait: 200 * time.Millisecond, mod: func(d *devenv.Dev) {
		d.Config.Credentials[0].OrganizationID = "00000000-0000-4000-8000-00000000bad0"
	}})
	s := startSidecar(t, b.client, nil)
	var h healthBody
	if code := getJSON(t, s.url(1, "/health"), &h); code != http.StatusOK || h.Providers["anthropic"] {
		t.Fatalf("/health = %d %+v, want 200 with anthropic false", code, h)
	}
	resp, err := http.Post(s.url(1, "/v1/messages"), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"type":"error"`) {
		t.Errorf("request before a token = %d %s", resp.StatusCode, body)
	}
	if n := b.dev.API.Served() + b.dev.API.Unauthenticated(); n != 0 {
		t.Errorf("upstream saw %d requests without a token to give them", n)
	}
}

// TestSidecarRefusesWhatTheCallerMayNotLease: a caller allowed nothing gets
// only the management port; asking for a port by --upstream is refused
// with the reason, before any port opens.
func TestSidecarRefusesWhatTheCallerMayNotLease(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{})
	other := asOtherUID(t, b, spec)
	s := startSidecar(t, other, nil)
	var r struct {
		Endpoints []struct {
			Configured bool `json:"configured"`
		} `json:"endpoints"`
	}
	getJSON(t, s.url(0, "/reflect"), &r)
	for i, e := range r.Endpoints {
		if e.Configured {
			t.Errorf("endpoint %d configured for a caller allowed nothing", i)
		}
	}
	resp, err := http.Post(s.url(0, "/v1/chat/completions"), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("openai port without a credential = %d, want 404", resp.StatusCode)
	}

	up, _ := url.Parse(b.dev.API.URL())
	err = forward.RunSidecar(context.Background(), forward.SidecarConfig{
		Client: other, Bind: "127.0.0.1", BasePort: 1, Upstreams: map[string]*url.URL{"anthropic": up}, MaxWait: time.Second,
	})
	const want = `sidecar: --upstream anthropic: refusing port 2: the broker lets this caller lease no credential named "anthropic" (not defined, or not in its allow list)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestSidecarServesAPortWithAnotherCredential: --credential anthropic=anthropic-key
// serves port 10001 with the static key; /health reports it by port name.
func TestSidecarServesAPortWithAnotherCredential(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	s := startSidecar(t, b.client, nil, map[string]string{"anthropic": "anthropic-key"})
	var h healthBody
	testharness.Eventually(5*time.Second, func() bool { getJSON(t, s.url(1, "/health"), &h); return h.Providers["anthropic"] })
	if !h.Providers["anthropic"] {
		t.Fatalf("/health = %+v", h)
	}
	resp, err := http.Post(s.url(1, "/v1/messages"), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The Messages fake accepts only OIDC bearers: the static key is
	// refused there, which shows it was the key that went upstream.
	hs := b.dev.API.Headers()
	if len(hs) == 0 {
		t.Fatalf("status %d and nothing reached the upstream", resp.StatusCode)
	}
	last := hs[len(hs)-1]
	if resp.StatusCode != http.StatusUnauthorized || last.Get("X-Api-Key") != b.dev.Env[devenv.KeyEnv] || last.Get("Anthropic-Version") != "2023-06-01" {
		t.Errorf("status %d; upstream saw the key: %v, anthropic-version %q", resp.StatusCode,
			last.Get("X-Api-Key") == b.dev.Env[devenv.KeyEnv], last.Get("Anthropic-Version"))
	}
}

// TestCredentialTargetInTheAPI: the credential API carries each
// credential's target (what the sidecar forwards to), validated against
// api/openapi.yaml, to admins and to the callers who may lease it alike.
func TestCredentialTargetInTheAPI(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		d.Config.Credentials[1].Allow.UIDs = append(d.Config.Credentials[1].Allow.UIDs, nobody)
	}})
	c := client.New(b.sock, client.WithTransport(spec.Transport))
	defer c.Close()
	cr, err := c.Credential(context.Background(), "anthropic")
	if err != nil || cr.Target != b.dev.API.URL() {
		t.Fatalf("anthropic: target %q err %v, want %s", cr.Target, err, b.dev.API.URL())
	}
	list, err := asOtherUID(t, b, spec).Credentials(context.Background())
	if err != nil || len(list) != 1 || list[0].Name != "anthropic-key" || list[0].Target != b.dev.API.URL() {
		t.Fatalf("as uid %d: %+v %v", nobody, list, err)
	}
}
