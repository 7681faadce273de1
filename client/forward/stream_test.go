package forward

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
	waitFor(t, 5*time.Second, "the grant before the upload ends", func() bool { return h.broker.headerCalls.Load() == 1 })
	waitFor(t, 5*time.Second, "the upstream to see the request before the upload ends", func() bool { return h.up.arrivals.Load() == 1 })
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
	waitFor(t, 5*time.Second, "the upstream to see the request", func() bool { return h.up.arrivals.Load() == 1 })
	conn.Close()
	waitFor(t, 5*time.Second, "the forwarder to log the aborted request", func() bool {
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
