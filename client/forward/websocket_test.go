package forward

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/awf-broker/awf-broker/internal/testharness"
)

// responsesEvents are what the fake Responses API streams back for one
// response.create, in order.
var responsesEvents = []string{"response.created", "response.output_text.delta", "response.output_text.delta", "response.completed"}

// wsUpstream makes h's fake upstream a strict Responses WebSocket API: the
// fake's bearer check runs first (an upgrade without the broker's bearer
// gets 401), then the handshake is accepted by coder/websocket, which
// verifies it as a real server does. /v1/refuse always answers 401.
type wsUpstream struct {
	messages atomic.Int64              // response.create messages received
	closed   chan websocket.StatusCode // how each session ended, as the upstream saw it
}

func serveResponsesWS(t *testing.T, h *harness) *wsUpstream {
	ws := &wsUpstream{closed: make(chan websocket.StatusCode, 4)}
	h.up.route = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path == "/v1/refuse" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"realtime not enabled for this key","type":"invalid_request_error"}}`)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("upstream accept: %v", err)
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				ws.closed <- websocket.CloseStatus(err)
				return
			}
			var m struct{ Type string }
			if json.Unmarshal(msg, &m); m.Type != "response.create" {
				c.Close(websocket.StatusPolicyViolation, "want response.create")
				ws.closed <- websocket.StatusPolicyViolation
				return
			}
			ws.messages.Add(1)
			for _, ev := range responsesEvents {
				b, _ := json.Marshal(map[string]string{"type": ev})
				if err := c.Write(ctx, websocket.MessageText, b); err != nil {
					return
				}
			}
		}
	}
	return ws
}

// dialWS opens a WebSocket through the forwarder with the agent's own
// placeholder key, which must never reach the upstream.
func dialWS(t *testing.T, h *harness, path string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.url, "http")+path, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer agent-placeholder"}, "Openai-Beta": {"responses_websockets=2026-02-06"}},
	})
}

// exchange sends one response.create and reads the events it answers.
func exchange(t *testing.T, c *websocket.Conn) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"response.create","response":{"model":"gpt-test","input":"hi"}}`)); err != nil {
		t.Fatalf("write response.create: %v", err)
	}
	var got []string
	for range responsesEvents {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read event %d: %v", len(got), err)
		}
		var m struct{ Type string }
		json.Unmarshal(b, &m)
		got = append(got, m.Type)
	}
	return got
}

func TestWebSocketResponsesExchange(t *testing.T) {
	h := newHarness(t, harnessOpts{provider: ProviderOpenAI})
	ws := serveResponsesWS(t, h)
	c, resp, err := dialWS(t, h, "/v1/responses")
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	defer c.CloseNow()
	for round := range 2 {
		if got := exchange(t, c); strings.Join(got, " ") != strings.Join(responsesEvents, " ") {
			t.Fatalf("round %d: events %v, want %v", round, got, responsesEvents)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("close: %v", err)
	}
	if code := <-ws.closed; code != websocket.StatusNormalClosure {
		t.Errorf("upstream saw the session end with %v, want a normal closure", code)
	}
	if n := ws.messages.Load(); n != 2 {
		t.Errorf("upstream got %d response.create messages, want 2", n)
	}
	if n, k := h.up.unauth.Load(), h.up.agentKeys.Load(); n != 0 || k != 0 {
		t.Errorf("upstream saw %d unauthenticated upgrades and %d with the agent's key", n, k)
	}
	seen := h.broker.seenRequests()
	if len(seen) != 1 || seen[0].Method != "GET" || !strings.HasSuffix(seen[0].URL, "/v1/responses") {
		t.Fatalf("broker was asked %+v, want one grant for GET …/v1/responses", seen)
	}
	if _, ok := seen[0].Headers["openai-beta"]; !ok {
		t.Errorf("broker did not see the handshake's openai-beta header: %v", seen[0].Headers)
	}
	testharness.WaitFor(t, 5*time.Second, "the tunnel to close", func() bool { return h.fwd.tunnels.count() == 0 })
}

func TestWebSocketUpgradeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       harnessOpts
		path       string
		status     int
		msg        string // the forwarder's own message; "" when the upstream's answer is relayed
		arrivals   int64  // upgrades that reached the upstream
		headerCall bool   // whether the broker was asked for headers
	}{
		{"upstream refuses: its 401 is relayed after one replay", harnessOpts{provider: ProviderOpenAI}, "/v1/refuse",
			401, "", 2, true},
		{"broker down: 503, nothing upstream", harnessOpts{provider: ProviderOpenAI, maxWait: 300 * time.Millisecond}, "/v1/responses",
			503, "awf-broker unreachable", 0, false},
		{"AWS credential: 501", harnessOpts{provider: ProviderOpenAI, needsSHA: true}, "/v1/responses",
			501, "WebSocket upgrades are not supported for credentials signed with AWS SigV4; the request was not sent upstream", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			serveResponsesWS(t, h)
			if tc.status == 503 {
				h.broker.down()
			}
			c, resp, err := dialWS(t, h, tc.path)
			if err == nil {
				c.CloseNow()
				t.Fatal("the upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("dial error %v, response %v; want status %d", err, resp, tc.status)
			}
			b, _ := io.ReadAll(resp.Body)
			var e struct {
				Error struct{ Message string } `json:"error"`
			}
			json.Unmarshal(b, &e)
			switch {
			case tc.msg == "" && e.Error.Message != "realtime not enabled for this key":
				t.Errorf("body %s: want the upstream's refusal relayed", b)
			case tc.msg != "" && !strings.Contains(e.Error.Message, tc.msg):
				t.Errorf("message %q, want it to contain %q", e.Error.Message, tc.msg)
			}
			if n := h.up.arrivals.Load(); n != tc.arrivals {
				t.Errorf("%d upgrades reached the upstream, want %d", n, tc.arrivals)
			}
			if n := h.up.unauth.Load(); n != 0 {
				t.Errorf("%d unauthenticated upgrades reached the upstream", n)
			}
		})
	}
}

func TestWebSocketBadKeyGets400AndTheForwarderKeepsServing(t *testing.T) {
	h := newHarness(t, harnessOpts{provider: ProviderOpenAI})
	serveResponsesWS(t, h)
	const head = "GET /v1/responses HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	for _, tc := range []struct{ name, extra, msg string }{
		{"missing", "", "WebSocket upgrade without a Sec-WebSocket-Key header (RFC 6455 §4.1)"},
		{"not base64", "Sec-WebSocket-Key: not*base64\r\n", "Sec-WebSocket-Key is not the base64 encoding of 16 bytes (RFC 6455 §4.1)"},
		{"wrong length", "Sec-WebSocket-Key: AAAA\r\n", "Sec-WebSocket-Key is not the base64 encoding of 16 bytes (RFC 6455 §4.1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.raw(head + tc.extra + "\r\n")
			var e struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			json.Unmarshal([]byte(body), &e)
			if code != 400 || e.Error.Message != tc.msg || e.Error.Type != "invalid_request_error" {
				t.Errorf("%d %s\nwant 400 %q", code, body, tc.msg)
			}
		})
	}
	if n, g := h.up.arrivals.Load(), h.broker.headerCalls.Load(); n != 0 || g != 0 {
		t.Errorf("%d upstream arrivals and %d grants for refused handshakes", n, g)
	}
	c, _, err := dialWS(t, h, "/v1/responses")
	if err != nil {
		t.Fatalf("a good upgrade after the bad ones: %v", err)
	}
	defer c.CloseNow()
	if got := exchange(t, c); len(got) != len(responsesEvents) {
		t.Errorf("events %v", got)
	}
}

func TestWebSocketThroughHTTPSProxyCONNECT(t *testing.T) {
	proxy := newConnectProxy(t)
	h := newHarness(t, harnessOpts{provider: ProviderOpenAI, tlsUpstream: true,
		transport: func(up *httptest.Server) http.RoundTripper {
			tr := DefaultTransport(0)
			tr.Proxy = http.ProxyURL(proxy.url)
			tr.TLSClientConfig = &tls.Config{RootCAs: up.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
			return tr
		}})
	serveResponsesWS(t, h)
	c, resp, err := dialWS(t, h, "/v1/responses")
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	defer c.CloseNow()
	if got := exchange(t, c); strings.Join(got, " ") != strings.Join(responsesEvents, " ") {
		t.Fatalf("events %v", got)
	}
	if got := proxy.targets(); len(got) != 1 || got[0] != strings.TrimPrefix(h.up.srv.URL, "https://") {
		t.Errorf("proxy saw CONNECT to %v, want one to the upstream", got)
	}
	if n := h.up.unauth.Load(); n != 0 {
		t.Errorf("%d unauthenticated upgrades", n)
	}
}

func TestStoppingTheForwarderClosesBothEndsOfAWebSocket(t *testing.T) {
	h := newHarness(t, harnessOpts{provider: ProviderOpenAI})
	ws := serveResponsesWS(t, h)
	c, _, err := dialWS(t, h, "/v1/responses")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	exchange(t, c)
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(context.Background())
		readErr <- err
	}()
	h.close()
	select {
	case err := <-readErr:
		if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
			t.Errorf("client's read ended with %v (status %v), want a close frame 1001", err, code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client's connection stayed open after the forwarder stopped")
	}
	select {
	case code := <-ws.closed:
		if code != websocket.StatusGoingAway {
			t.Errorf("upstream saw the session end with %v, want 1001", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream's connection stayed open after the forwarder stopped")
	}
	if n := h.fwd.tunnels.count(); n != 0 {
		t.Errorf("%d tunnels still registered", n)
	}
}

func TestFrameTrackerFindsBoundariesAtAnySplit(t *testing.T) {
	frames := [][]byte{
		{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'},                                     // short text
		append([]byte{0x82, 126, 0x01, 0x00}, make([]byte, 256)...),               // 16-bit length
		append([]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 65536)...), // 64-bit length
		closeFrame(closeGoingAway, "bye", true),                                   // masked control frame
		{0x89, 0x80, 1, 2, 3, 4},                                                  // masked empty ping
	}
	var stream []byte
	ends := map[int]bool{0: true}
	for _, f := range frames {
		stream = append(stream, f...)
		ends[len(stream)] = true
	}
	for _, chunk := range []int{1, 2, 3, 7, 100, 4096} {
		var ft frameTracker
		for off := 0; off < len(stream); off += chunk {
			end := min(off+chunk, len(stream))
			ft.feed(stream[off:end])
			if got := ft.atBoundary(); got != ends[end] {
				t.Fatalf("chunk %d, after %d bytes: atBoundary %v, want %v", chunk, end, got, ends[end])
			}
		}
	}
}

// connectProxy is an HTTPS_PROXY: it answers CONNECT and splices bytes.
type connectProxy struct {
	url *url.URL
	mu  sync.Mutex
	tgt []string
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.tgt = append(p.tgt, r.Host)
		p.mu.Unlock()
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		brw.Flush()
		go func() { io.Copy(up, brw); up.Close() }()
		io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	p.url, _ = url.Parse(srv.URL)
	return p
}

func (p *connectProxy) targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tgt...)
}

func TestWebSocketSubprotocolKeyIsStripped(t *testing.T) {
	h := newHarness(t, harnessOpts{provider: ProviderOpenAI})
	offered := make(chan string, 1)
	h.up.route = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		offered <- strings.Join(r.Header.Values("Sec-Websocket-Protocol"), ",")
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"realtime"}})
		if err != nil {
			t.Errorf("upstream accept: %v", err)
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.url, "http")+"/v1/realtime?model=gpt-realtime", &websocket.DialOptions{
		Subprotocols: []string{"realtime", "openai-insecure-api-key.agent-placeholder", "openai-beta.realtime-v1"},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "realtime" {
		t.Errorf("negotiated subprotocol %q, want realtime", c.Subprotocol())
	}
	if got := <-offered; got != "realtime, openai-beta.realtime-v1" {
		t.Errorf("upstream was offered %q; the key subprotocol must be stripped and the others kept", got)
	}
	seen := h.broker.seenRequests()
	if len(seen) != 1 || strings.Contains(seen[0].Headers["sec-websocket-protocol"], "agent-placeholder") {
		t.Errorf("broker saw %q", seen[0].Headers["sec-websocket-protocol"])
	}
}
