package forward

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPathAndQueryJoinOntoUpstreamBase(t *testing.T) {
	h := newHarness(t, harnessOpts{basePath: "/base/?tenant=t1"})
	resp, body := h.do("POST", "/v1/messages?beta=true&x=%2F", strings.NewReader(`{}`), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Path != "/base/v1/messages" || e.Query != "tenant=t1&beta=true&x=%2F" {
		t.Errorf("upstream saw path %q query %q", e.Path, e.Query)
	}
	seen := h.broker.seenRequests()
	if want := h.up.srv.URL + "/base/v1/messages?tenant=t1&beta=true&x=%2F"; seen[0].URL != want || seen[0].Method != "POST" {
		t.Errorf("broker asked for %s %q, want POST %q", seen[0].Method, seen[0].URL, want)
	}

	// Escaping the client chose survives (Bedrock model ids carry %3A).
	_, body = h.do("GET", "/model/anthropic.claude%3A0/invoke", nil, nil)
	json.Unmarshal(body, &e)
	if e.Path != "/base/model/anthropic.claude%3A0/invoke" {
		t.Errorf("escaped path became %q", e.Path)
	}
}

func TestAgentCredentialsAndProxyHeadersNeverReachUpstream(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	agent := map[string]string{
		"Authorization":        "Bearer agent-token",
		"X-Api-Key":            "agent-key",
		"X-Goog-Api-Key":       "agent-goog",
		"Api-Key":              "agent-azure",
		"Proxy-Authorization":  "Basic agent",
		"Forwarded":            "for=1.2.3.4",
		"Via":                  "1.1 agent",
		"X-Forwarded-For":      "1.2.3.4",
		"X-Forwarded-Host":     "evil.example",
		"X-Amz-Security-Token": "agent-sts",
		"X-Amz-Date":           "20250101T000000Z",
		"Connection":           "X-Hop",
		"X-Hop":                "hop",
		"X-Remove-Me":          "broker removes this",
		"Anthropic-Beta":       "tools-2024",
		"X-Keep":               "kept",
	}
	resp, body := h.do("POST", "/v1/messages", strings.NewReader(`{"model":"m"}`), agent)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := h.up.requests()[0].Header
	if got.Get("Authorization") != "Bearer tok-1" || got.Get("X-Stub-Granted") != "yes" {
		t.Errorf("broker's headers not applied: authorization %q x-stub-granted %q", got.Get("Authorization"), got.Get("X-Stub-Granted"))
	}
	for _, k := range []string{"X-Api-Key", "X-Goog-Api-Key", "Api-Key", "Proxy-Authorization", "Forwarded", "Via",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Amz-Security-Token", "X-Amz-Date", "X-Hop", "X-Remove-Me"} {
		if v := got.Get(k); v != "" {
			t.Errorf("upstream received %s: %q", k, v)
		}
	}
	if got.Get("X-Keep") != "kept" || got.Get("Anthropic-Beta") != "tools-2024" {
		t.Errorf("ordinary headers lost: %v", got)
	}
	if n := h.up.agentKeys.Load(); n != 0 {
		t.Errorf("%d upstream arrivals carried the agent's key", n)
	}
	hdrs := h.broker.seenRequests()[0].Headers
	if hdrs["x-keep"] != "kept" || hdrs["anthropic-beta"] != "tools-2024" {
		t.Errorf("broker saw headers %v", hdrs)
	}
	if resp.Header.Get("X-Upstream") != "fake" {
		t.Errorf("response headers not relayed: %v", resp.Header)
	}
}

func TestRequestTargetsThatCouldEscapeTheUpstreamAreRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	upHost := strings.TrimPrefix(h.up.srv.URL, "http://")
	for _, tc := range []struct {
		name, line string
		want       int
		msg        string
	}{
		{"absolute-form other host", "GET http://evil.example/v1/models HTTP/1.1", 400, "absolute-form request target names another host; send origin-form paths"},
		{"absolute-form https other host", "GET https://evil.example:443/v1/models HTTP/1.1", 400, "absolute-form request target names another host; send origin-form paths"},
		{"dot-dot", "GET /v1/../admin HTTP/1.1", 400, "request path must not contain . or .. segments"},
		{"encoded dot-dot", "GET /v1/%2e%2e/admin HTTP/1.1", 400, "request path must not contain . or .. segments"},
		{"trailing dot-dot", "GET /v1/.. HTTP/1.1", 400, "request path must not contain . or .. segments"},
		{"encoded slash", "GET /v1/a%2fb HTTP/1.1", 400, "request path must not contain an encoded slash (%2F or %5C)"},
		{"encoded backslash", "GET /v1/a%5Cb HTTP/1.1", 400, "request path must not contain an encoded slash (%2F or %5C)"},
		{"CONNECT", "CONNECT evil.example:443 HTTP/1.1", 400, "CONNECT is not supported by the forwarder"},
		{"absolute-form naming the upstream", "GET http://" + upHost + "/v1/models HTTP/1.1", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.raw(tc.line + "\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if tc.want == 400 {
				if typ, msg := anthropicError(t, []byte(body)); typ != "invalid_request_error" || msg != tc.msg {
					t.Errorf("error %q %q, want invalid_request_error %q", typ, msg, tc.msg)
				}
			}
		})
	}
	if n := h.up.arrivals.Load(); n != 1 {
		t.Errorf("upstream arrivals %d, want 1 (the accepted absolute-form)", n)
	}
	if n := h.broker.headerCalls.Load(); n != 1 {
		t.Errorf("broker header calls %d, want 1", n)
	}
	// The Host header never picks the upstream.
	if r := h.up.requests(); len(r) == 1 && r[0].Path != "/v1/models" {
		t.Errorf("upstream saw %q", r[0].Path)
	}
}

func TestOversizedHeadersGet431(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	status, _ := h.raw("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", MaxHeaderBytes+8192) + "\r\n\r\n")
	if status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", status)
	}
	if n := h.up.arrivals.Load(); n != 0 {
		t.Errorf("upstream arrivals %d", n)
	}
}

func TestStreamingIsNotBuffered(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	resp, err := h.hc.Get(h.url + "/v1/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content-type %q", ct)
	}
	// The upstream blocks after its first event until we have read it
	// through the forwarder: a buffering proxy would deadlock here.
	events := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				events <- sc.Text()
			}
		}
		close(events)
	}()
	select {
	case ev := <-events:
		if ev != "event: one" {
			t.Fatalf("first event %q", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first event did not arrive while the upstream held the stream open: the forwarder buffers")
	}
	h.up.release()
	if ev := <-events; ev != "event: two" {
		t.Fatalf("second event %q", ev)
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/v1/sse", nil)
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "event: one\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-h.up.sseCanceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not canceled after the client went away")
	}
}

func TestBodySHA256IsSentForSigningCredentials(t *testing.T) {
	h := newHarness(t, harnessOpts{needsSHA: true})
	payload := bytes.Repeat([]byte("bedrock "), 20000)
	resp, body := h.do("POST", "/model/m/invoke", bytes.NewReader(payload), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	sum := sha256.Sum256(payload)
	want := hex.EncodeToString(sum[:])
	if got := h.broker.seenRequests()[0].BodySHA256; got != want {
		t.Errorf("body_sha256 %q, want %q", got, want)
	}
	var e echo
	json.Unmarshal(body, &e)
	if e.BodySHA256 != want || e.Len != len(payload) {
		t.Errorf("upstream got %d bytes hashing %s", e.Len, e.BodySHA256)
	}
	h.do("GET", "/v1/models", nil, nil)
	if got := h.broker.seenRequests()[1].BodySHA256; got != emptySHA256 {
		t.Errorf("empty body hashed as %q", got)
	}

	// Beyond 32 MiB: 413 before the broker or the upstream hear of it.
	calls, arrivals := h.broker.headerCalls.Load(), h.up.arrivals.Load()
	big := io.LimitReader(zeroReader{}, MaxHashedBody+1)
	resp, body = h.do("POST", "/model/m/invoke", big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if typ, _ := anthropicError(t, body); typ != "request_too_large" {
		t.Errorf("error type %q", typ)
	}
	if h.broker.headerCalls.Load() != calls || h.up.arrivals.Load() != arrivals {
		t.Error("an oversized body reached the broker or the upstream")
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestUpstream401InvalidatesAndReplaysOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.broker.rotate() // the upstream now wants tok-2; the broker still grants tok-1
	payload := `{"model":"m","messages":[]}`
	resp, body := h.do("POST", "/v1/messages", strings.NewReader(payload), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if n := h.broker.invalidates.Load(); n != 1 {
		t.Errorf("invalidate called %d times, want 1", n)
	}
	reqs := h.up.requests()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer tok-1" ||
		reqs[1].Header.Get("Authorization") != "Bearer tok-2" || string(reqs[1].Body) != payload {
		t.Errorf("upstream saw %d requests; want the 401 then a replay with tok-2 and the same body", len(reqs))
	}

	// A body too large to keep is streamed once: the 401 is relayed.
	h.broker.rotate()
	big := bytes.Repeat([]byte("x"), MaxReplayBody+1)
	resp, body = h.do("POST", "/v1/messages", bytes.NewReader(big), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want the upstream's 401: %s", resp.StatusCode, body)
	}
	if typ, _ := anthropicError(t, body); typ != "authentication_error" {
		t.Errorf("the upstream's body was not relayed: %s", body)
	}
	if n := h.broker.invalidates.Load(); n != 2 {
		t.Errorf("invalidate called %d times in all, want 2", n)
	}
	if n := len(h.up.requests()); n != 3 {
		t.Errorf("upstream arrivals %d, want 3 (no replay of the big body)", n)
	}
	if got := h.up.requests()[2].Body; !bytes.Equal(got, big) {
		t.Errorf("big body arrived with %d bytes", len(got))
	}
	// The next request uses the fresh token at once.
	if resp, _ := h.do("GET", "/v1/models", nil, nil); resp.StatusCode != 200 {
		t.Errorf("after invalidate: status %d", resp.StatusCode)
	}
}

func TestHealthz(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	resp, body := h.do("GET", HealthPath, nil, nil)
	var hb struct {
		Status      string    `json:"status"`
		Fingerprint string    `json:"lease_fingerprint"`
		ExpiresAt   time.Time `json:"expires_at"`
		Reason      string    `json:"reason"`
	}
	json.Unmarshal(body, &hb)
	if resp.StatusCode != 200 || hb.Status != "ok" || hb.Fingerprint != leaseFingerprint("lse_1") ||
		!strings.HasPrefix(hb.Fingerprint, "sha256:") || len(hb.Fingerprint) != 19 ||
		strings.Contains(string(body), "lse_1") || time.Until(hb.ExpiresAt) < 10*time.Minute {
		t.Errorf("healthz %d %s", resp.StatusCode, body)
	}
	h.broker.down()
	resp, body = h.do("GET", HealthPath, nil, nil)
	json.Unmarshal(body, &hb)
	if resp.StatusCode != 503 || hb.Status != "unavailable" || !strings.Contains(hb.Reason, "awf-broker health check failed") {
		t.Errorf("healthz with the broker down: %d %s", resp.StatusCode, body)
	}
	if n := h.up.arrivals.Load(); n != 0 {
		t.Errorf("healthz reached the upstream %d times", n)
	}
}

func TestChunkedBodiesOfAnySizeArriveIntact(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, size := range []int{0, 10, MaxReplayBody, MaxReplayBody + 1, 3 << 20} {
		payload := bytes.Repeat([]byte{'z'}, size)
		// An opaque reader makes the client send chunked, length unknown.
		resp, body := h.do("POST", "/v1/upload", io.MultiReader(bytes.NewReader(payload)), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("size %d: status %d", size, resp.StatusCode)
		}
		var e echo
		json.Unmarshal(body, &e)
		sum := sha256.Sum256(payload)
		if e.Len != size || e.BodySHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("size %d: upstream got %d bytes", size, e.Len)
		}
	}
}

func TestUpstreamFailingMidwayTruncatesTheResponse(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.up.route = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}
	resp, err := h.hc.Get(h.url + "/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("read %q without error: a failed upstream body must not look complete", b)
	}
}
