package forward

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

func TestRunServesEveryRouteAndRevokesOnExit(t *testing.T) {
	up := newFakeUpstream(t, false)
	upURL, _ := url.Parse(up.srv.URL)
	b := newStubBroker(t, upURL.Host, false)
	up.b = b
	other, _ := url.Parse(up.srv.URL + "/other")

	var mu sync.Mutex
	addrs := map[string]string{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{
			Client: client.New(b.sock),
			Routes: []Route{
				{Listen: "127.0.0.1:0", Credential: "anthropic", Upstream: upURL},
				{Listen: "127.0.0.1:0", Credential: "anthropic", Upstream: other},
			},
			Label: "run-test",
			Listening: func(r Route, a net.Addr) {
				mu.Lock()
				addrs[r.Upstream.Path] = a.String()
				mu.Unlock()
			},
		})
	}()
	testharness.WaitFor(t, 5*time.Second, "both listeners", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(addrs) == 2
	})
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]string{"": "/v1/models", "/other": "/other/v1/models"} {
		mu.Lock()
		addr := addrs[path]
		mu.Unlock()
		resp, err := hc.Get("http://" + addr + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("route %q: status %d", path, resp.StatusCode)
		}
		if got := up.requests()[len(up.requests())-1].Path; got != want {
			t.Errorf("route %q: upstream saw %q", path, got)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := b.revokes.Load(); n != 2 {
		t.Errorf("%d leases revoked on exit, want 2", n)
	}
}

func TestRunFailsOnAPermanentRefusal(t *testing.T) {
	b := newStubBroker(t, "api.anthropic.com", false)
	u, _ := url.Parse("https://api.anthropic.com")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, RunConfig{Client: client.New(b.sock), Routes: []Route{{Listen: "127.0.0.1:0", Credential: "missing", Upstream: u}}})
	if err == nil || !strings.Contains(err.Error(), `create lease for credential "missing"`) {
		t.Errorf("Run: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("Run waited for its context instead of failing")
	}
}
