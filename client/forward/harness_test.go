package forward

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// harnessOpts are the knobs of one forwarder scenario.
type harnessOpts struct {
	needsSHA   bool
	maxWait    time.Duration
	leaseTTL   time.Duration
	basePath   string // appended to the upstream's URL: "/base?k=v"
	provider   string
	noStart    bool
	brokerDown bool
	// tlsUpstream serves the fake upstream over https (its own CA).
	tlsUpstream bool
	// transport, when set, builds the forwarder's upstream transport
	// from the fake upstream's server.
	transport func(up *httptest.Server) http.RoundTripper
}

// harness is one scenario: a stub broker on a unix socket, a fake upstream,
// and a forwarder between them served on a loopback port.
type harness struct {
	t      *testing.T
	broker *stubBroker
	up     *fakeUpstream
	fwd    *Forwarder
	url    string // the forwarder's base URL
	hc     *http.Client
	logs   *testlog.Buffer // the forwarder's log, at debug level
	stop   context.CancelFunc
	served chan error
	// closeOnce makes close idempotent (tests call it, then Cleanup does).
	closeOnce sync.Once
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, up: newFakeUpstream(t, o.tlsUpstream), logs: &testlog.Buffer{}}
	upURL, _ := url.Parse(h.up.srv.URL + o.basePath)
	h.broker = newStubBroker(t, upURL.Host, o.needsSHA)
	h.up.b = h.broker
	if o.brokerDown {
		h.broker.down()
	}
	var rt http.RoundTripper
	if o.transport != nil {
		rt = o.transport(h.up.srv)
	}
	fwd, err := New(Config{
		Client:     client.New(h.broker.sock),
		Credential: "anthropic",
		Upstream:   upURL,
		Label:      "test",
		LeaseTTL:   o.leaseTTL,
		MaxWait:    o.maxWait,
		Provider:   o.provider,
		Transport:  rt,
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.fwd = fwd
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.served = make(chan error, 1)
	go func() { h.served <- Serve(ctx, ln, NewServer(fwd, nil)) }()
	h.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	t.Cleanup(h.close)
	if !o.noStart {
		if err := fwd.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	return h
}

// close stops the server, closes the forwarder and every idle connection.
func (h *harness) close() {
	h.closeOnce.Do(func() {
		h.stop()
		if err := <-h.served; err != nil {
			h.t.Errorf("Serve: %v", err)
		}
		_ = h.fwd.Close()
		h.hc.CloseIdleConnections()
	})
}

// do sends a request through the forwarder and reads the whole response.
func (h *harness) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// raw writes a literal HTTP/1.1 request and returns the status line's code.
func (h *harness) raw(request string) (int, string) {
	h.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.t.Fatalf("read response to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// anthropicError decodes an Anthropic-shaped error body.
func anthropicError(t *testing.T, b []byte) (typ, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" {
		t.Fatalf("not an Anthropic error body: %q (%v)", b, err)
	}
	return e.Error.Type, e.Error.Message
}
