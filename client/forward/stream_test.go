package forward

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/internal/testharness"
)

// uploadHead is the head of an 80 KB Messages call written by hand, so a
// test controls when each half of the body leaves the client.
func uploadHead(h *harness, size int) string {
	return fmt.Sprintf("POST /v1/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Api-Key: agent-key\r\nContent-Length: %d\r\n\r\n",
		strings.TrimPrefix(h.url, "http://"), size)
}

func TestGrantAndUpstreamStartBeforeTheUploadEnds(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	const size = 80 << 10
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := bytes.Repeat([]byte("t"), size)
	if _, err := io.WriteString(conn, uploadHead(h, size)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body[:size/2]); err != nil {
		t.Fatal(err)
	}
	// Half the body is out: the broker has been asked and the upstream has
	// the request's head, before the client sends the rest.
	testharness.WaitFor(t, 5*time.Second, "the grant before the upload ends", func() bool { return h.broker.headerCalls.Load() == 1 })
	testharness.WaitFor(t, 5*time.Second, "the upstream to see the request before the upload ends", func() bool { return h.up.arrivals.Load() == 1 })
	if _, err := conn.Write(body[size/2:]); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	var e echo
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 200 || e.Len != size {
		t.Fatalf("status %d, upstream got %d bytes; want 200 and %d", resp.StatusCode, e.Len, size)
	}
}

func TestClientDisconnectHalfwayThroughAnUpload(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	const size = 80 << 10
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, uploadHead(h, size))
	conn.Write(make([]byte, size/2))
	testharness.WaitFor(t, 5*time.Second, "the upstream to see the request", func() bool { return h.up.arrivals.Load() == 1 })
	conn.Close()
	testharness.WaitFor(t, 5*time.Second, "the forwarder to log the aborted request", func() bool {
		return strings.Contains(h.logs.String(), "the upstream request was aborted")
	})
	if log := h.logs.String(); !strings.Contains(log, "request body failed midway") && !strings.Contains(log, "client went away") {
		t.Errorf("log does not say why: %s", log)
	}
	// The upstream never completed a request from the cut upload, and
	// never saw one without the broker's bearer.
	if reqs := h.up.requests(); len(reqs) != 0 {
		t.Errorf("upstream completed %d requests (first with %d bytes) from a cut upload", len(reqs), len(reqs[0].Body))
	}
	if n := h.up.unauth.Load(); n != 0 {
		t.Errorf("%d unauthenticated arrivals", n)
	}
	// The forwarder keeps serving.
	resp, b := h.do("POST", "/v1/messages", bytes.NewReader(make([]byte, size)), nil)
	var e echo
	json.Unmarshal(b, &e)
	if resp.StatusCode != 200 || e.Len != size {
		t.Fatalf("next upload: status %d, %d bytes upstream", resp.StatusCode, e.Len)
	}
}

func TestReplayAfterA401SendsTheWholeStreamedBody(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.broker.rotate()
	payload := bytes.Repeat([]byte("r"), 80<<10)
	// An opaque reader: chunked, length unknown, streamed as it is read.
	resp, body := h.do("POST", "/v1/messages", io.MultiReader(bytes.NewReader(payload)), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	reqs := h.up.requests()
	if len(reqs) != 2 || !bytes.Equal(reqs[1].Body, payload) || reqs[1].Header.Get("Authorization") != "Bearer tok-2" {
		t.Fatalf("upstream saw %d requests; want the 401 and a whole replay with tok-2", len(reqs))
	}
}

// hangUpOnceOnAReusedConnection makes the fake upstream close, without an
// answer, the first request that arrives on a connection that already
// served one (a keep-alive connection the server gave up on), and returns
// how many it closed.
func hangUpOnceOnAReusedConnection(h *harness) *atomic.Int64 {
	var mu sync.Mutex
	served := map[string]int{} // by the forwarder's end of the connection
	var hungUp atomic.Int64
	h.up.hangUp = func(r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		served[r.RemoteAddr]++
		return served[r.RemoteAddr] > 1 && hungUp.CompareAndSwap(0, 1)
	}
	return &hungUp
}

func TestAStaleKeepAliveConnectionIsRetriedWithTheWholeBody(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	hungUp := hangUpOnceOnAReusedConnection(h)
	payload := bytes.Repeat([]byte("k"), 80<<10)
	// The transport retries a POST on a new connection only when it is
	// idempotent (Go's Request.isReplayable), as the SDKs' Idempotency-Key
	// says, and only with GetBody once the body was sent.
	hdr := map[string]string{"Idempotency-Key": "stainless-retry-1"}
	for i := 0; hungUp.Load() == 0; i++ {
		if i == 20 {
			t.Fatal("the forwarder never reused a connection to the upstream")
		}
		resp, body := h.do("POST", "/v1/messages", bytes.NewReader(payload), hdr)
		var e echo
		json.Unmarshal(body, &e)
		if resp.StatusCode != 200 || e.Len != len(payload) {
			t.Fatalf("request %d: status %d, upstream answered %d bytes: %.200s", i, resp.StatusCode, e.Len, body)
		}
	}
	for i, r := range h.up.requests() {
		if !bytes.Equal(r.Body, payload) {
			t.Errorf("arrival %d carried %d bytes, want %d", i, len(r.Body), len(payload))
		}
	}
}

// cutAfterPart is a transport whose first round trip reads part of the
// body and then gives the request up as a lost connection, sending it again
// with the body from GetBody, as net/http does on a closed keep-alive
// connection or a refused HTTP/2 stream.
type cutAfterPart struct {
	base  http.RoundTripper
	part  int64
	calls atomic.Int64
}

func (c *cutAfterPart) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.calls.Add(1) > 1 {
		return c.base.RoundTrip(r)
	}
	if _, err := io.CopyN(io.Discard, r.Body, c.part); err != nil {
		return nil, fmt.Errorf("read the first part: %w", err)
	}
	_ = r.Body.Close()
	if r.GetBody == nil {
		return nil, errors.New("connection lost, and the request has no GetBody to send it again")
	}
	body, err := r.GetBody()
	if err != nil {
		return nil, fmt.Errorf("GetBody: %w", err)
	}
	again := r.Clone(r.Context())
	again.Body = body
	return c.base.RoundTrip(again)
}

func TestARetriedThenReplayedRequestSendsTheWholeBodyEachTime(t *testing.T) {
	cut := &cutAfterPart{base: DefaultTransport(0), part: 16 << 10}
	h := newHarness(t, harnessOpts{transport: func(*httptest.Server) http.RoundTripper { return cut }})
	h.broker.rotate()
	payload := bytes.Repeat([]byte("2"), 80<<10)
	// The first attempt reads 16 KB, the transport's retry takes the body
	// over and reads the rest of the upload, is answered 401, and the
	// replay takes the body over again.
	resp, body := h.do("POST", "/v1/messages", io.MultiReader(bytes.NewReader(payload)), nil)
	var e echo
	json.Unmarshal(body, &e)
	if resp.StatusCode != 200 || e.Len != len(payload) {
		t.Fatalf("status %d, the replay carried %d bytes, want 200 and %d: %.200s", resp.StatusCode, e.Len, len(payload), body)
	}
	reqs := h.up.requests()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer tok-1" || reqs[1].Header.Get("Authorization") != "Bearer tok-2" {
		t.Fatalf("upstream saw %d requests; want the retry answered 401, then the replay with tok-2", len(reqs))
	}
	for i, r := range reqs {
		if !bytes.Equal(r.Body, payload) {
			t.Errorf("arrival %d carried %d bytes, want %d", i, len(r.Body), len(payload))
		}
	}
}
