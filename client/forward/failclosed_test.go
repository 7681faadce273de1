package forward

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBrokerDownThenUpWithinMaxWait(t *testing.T) {
	h := newHarness(t, harnessOpts{maxWait: 5 * time.Second})
	h.broker.down()
	go func() {
		time.Sleep(400 * time.Millisecond)
		h.broker.up()
	}()
	start := time.Now()
	resp, body := h.do("POST", "/v1/messages", strings.NewReader(`{}`), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("answered after %v, before the broker came back", d)
	}
	if n := h.up.unauth.Load(); n != 0 {
		t.Errorf("%d unauthenticated upstream arrivals", n)
	}
}

func TestBrokerDownPastMaxWaitFailsClosedInTheProviderShape(t *testing.T) {
	for _, tc := range []struct {
		provider string
		check    func(t *testing.T, resp *http.Response, body []byte)
	}{
		{ProviderAnthropic, func(t *testing.T, _ *http.Response, b []byte) {
			if typ, msg := anthropicError(t, b); typ != "api_error" || !strings.Contains(msg, "awf-broker unreachable") ||
				!strings.HasSuffix(msg, "the request was not sent upstream") {
				t.Errorf("error %q %q", typ, msg)
			}
		}},
		{ProviderOpenAI, func(t *testing.T, _ *http.Response, b []byte) {
			var e struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			if json.Unmarshal(b, &e); e.Error.Type != "api_error" || !strings.Contains(e.Error.Message, "awf-broker unreachable") {
				t.Errorf("body %s", b)
			}
		}},
		{ProviderAWS, func(t *testing.T, resp *http.Response, b []byte) {
			var e struct{ Message string }
			if json.Unmarshal(b, &e); resp.Header.Get("X-Amzn-Errortype") != "ServiceUnavailableException" || e.Message == "" {
				t.Errorf("headers %v body %s", resp.Header, b)
			}
		}},
		{ProviderGCP, func(t *testing.T, _ *http.Response, b []byte) {
			var e struct {
				Error struct {
					Code    int
					Message string
					Status  string
				} `json:"error"`
			}
			if json.Unmarshal(b, &e); e.Error.Code != 503 || e.Error.Status != "UNAVAILABLE" || e.Error.Message == "" {
				t.Errorf("body %s", b)
			}
		}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			h := newHarness(t, harnessOpts{maxWait: 300 * time.Millisecond, provider: tc.provider})
			h.broker.down()
			start := time.Now()
			resp, body := h.do("POST", "/v1/messages", strings.NewReader(`{}`), map[string]string{"X-Api-Key": "agent-key"})
			if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
				t.Errorf("answered after %v, want about MaxWait", d)
			}
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("status %d headers %v", resp.StatusCode, resp.Header)
			}
			tc.check(t, resp, body)
			if n := h.up.arrivals.Load(); n != 0 {
				t.Errorf("%d upstream arrivals with the broker down", n)
			}
		})
	}
}

func TestCredentialUnavailableHonoursRetryAfter(t *testing.T) {
	t.Run("becomes available within MaxWait", func(t *testing.T) {
		h := newHarness(t, harnessOpts{maxWait: 5 * time.Second})
		h.broker.setMode(modeUnavailable, 1)
		go func() {
			time.Sleep(300 * time.Millisecond)
			h.broker.setMode(modeOK, 0)
		}()
		start := time.Now()
		resp, body := h.do("GET", "/v1/models", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("retried after %v, before Retry-After: 1", d)
		}
	})
	t.Run("Retry-After beyond MaxWait answers at once", func(t *testing.T) {
		h := newHarness(t, harnessOpts{maxWait: 2 * time.Second})
		h.broker.setMode(modeUnavailable, 5)
		start := time.Now()
		resp, body := h.do("GET", "/v1/models", nil, nil)
		if d := time.Since(start); d > time.Second {
			t.Errorf("answered after %v", d)
		}
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" {
			t.Errorf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if _, msg := anthropicError(t, body); !strings.HasPrefix(msg, "credential not available yet") {
			t.Errorf("message %q", msg)
		}
		if n := h.up.arrivals.Load(); n != 0 {
			t.Errorf("%d upstream arrivals", n)
		}
	})
}

func TestBrokerRefusalsAnswerAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     brokerMode
		path     string
		status   int
		typ, msg string
	}{
		{"credential failed", modeFailed, "/v1/messages", 503, "api_error",
			"credential failed upstream (invalid_grant): exchange refused; the request was not sent upstream"},
		{"scope violation", modeOK, "/forbidden/x", 403, "permission_error",
			"request outside the lease's scope: host or path outside the lease"},
		{"garbage", modeGarbage, "/v1/messages", 502, "api_error",
			"awf-broker answered with an invalid response; the request was not sent upstream"},
		{"no headers granted", modeEmptyGrant, "/v1/messages", 502, "api_error",
			"awf-broker granted no headers; the request was not sent upstream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			h.broker.setMode(tc.mode, 0)
			start := time.Now()
			resp, body := h.do("POST", tc.path, strings.NewReader(`{}`), nil)
			if d := time.Since(start); d > time.Second {
				t.Errorf("answered after %v; want at once", d)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if typ, msg := anthropicError(t, body); typ != tc.typ || msg != tc.msg {
				t.Errorf("error %q %q\nwant  %q %q", typ, msg, tc.typ, tc.msg)
			}
			if n := h.up.arrivals.Load(); n != 0 {
				t.Errorf("%d upstream arrivals", n)
			}
		})
	}
}

func TestRevokedLeaseStopsTheForwarder(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.broker.revokeAll()
	for i := range 2 {
		resp, body := h.do("POST", "/v1/messages", strings.NewReader(`{}`), nil)
		if resp.StatusCode != 503 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		if _, msg := anthropicError(t, body); msg != "lease revoked by the broker; restart the forwarder" {
			t.Errorf("message %q", msg)
		}
	}
	if n := h.broker.headerCalls.Load(); n != 1 {
		t.Errorf("broker asked %d times; after the revocation it should not be asked again", n)
	}
	if n := h.up.arrivals.Load(); n != 0 {
		t.Errorf("%d upstream arrivals", n)
	}
	time.Sleep(200 * time.Millisecond)
	if n := h.broker.creates.Load(); n != 1 {
		t.Errorf("%d leases created; a revoked forwarder must not re-lease", n)
	}
	if resp, _ := h.do("GET", HealthPath, nil, nil); resp.StatusCode != 503 {
		t.Errorf("healthz %d after revocation", resp.StatusCode)
	}
}

func TestLostLeaseIsReacquired(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(*stubBroker)
	}{
		{"unknown_lease after a broker restart", (*stubBroker).forget},
		{"lease_expired", (*stubBroker).expireAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			tc.lose(h.broker)
			resp, body := h.do("POST", "/v1/messages", strings.NewReader(`{}`), nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if n := h.broker.creates.Load(); n != 2 {
				t.Errorf("%d leases created, want 2", n)
			}
			if n := h.up.arrivals.Load(); n != 1 {
				t.Errorf("%d upstream arrivals, want 1", n)
			}
		})
	}
}
