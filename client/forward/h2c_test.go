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

	"github.com/awf-broker/awf-broker/internal/testharness"
)

// h2cClient speaks only HTTP/2 cleartext with prior knowledge, as the AWS
// SDK for JavaScript v3's default handler does against an http:// endpoint.
func h2cClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableCompression: true, Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestH2CPriorKnowledge(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	hc := h2cClient(t)
	payload := bytes.Repeat([]byte("context "), 10<<10) // 80 KiB, an agent's request
	req, _ := http.NewRequest("POST", h.url+"/v1/messages", bytes.NewReader(payload))
	req.Header.Set("X-Api-Key", "agent-key")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("h2c request: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s: %s", resp.StatusCode, resp.Proto, b)
	}
	var e echo
	json.Unmarshal(b, &e)
	sum := sha256.Sum256(payload)
	if e.Len != len(payload) || e.BodySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("upstream got %d bytes (%s), want %d intact", e.Len, e.BodySHA256, len(payload))
	}
	if n, k := h.up.unauth.Load(), h.up.agentKeys.Load(); n != 0 || k != 0 {
		t.Errorf("%d unauthenticated arrivals, %d with the agent's key", n, k)
	}

	// A stream is relayed event by event over h2c too.
	resp, err = hc.Get(h.url + "/v1/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() { line, _ := br.ReadString('\n'); first <- line }()
	select {
	case line := <-first:
		if line != "event: one\n" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first event did not arrive over h2c while the upstream held the stream open")
	}
	h.up.release()
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "event: two") {
		t.Errorf("rest of the stream %q", rest)
	}
}

func TestH2CStreamResetMidBody(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	hc := h2cClient(t)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/v1/messages", pr)
	req.ContentLength = 80 << 10
	done := make(chan error, 1)
	go func() {
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if _, err := pw.Write(make([]byte, 40<<10)); err != nil {
		t.Fatal(err)
	}
	cancel() // RST_STREAM(CANCEL) halfway through the body
	pw.CloseWithError(context.Canceled)
	if err := <-done; err == nil {
		t.Fatal("the reset request succeeded")
	}
	testharness.WaitFor(t, 5*time.Second, "the forwarder to log the aborted request", func() bool {
		l := h.logs.String()
		return strings.Contains(l, "client went away") || strings.Contains(l, "request body failed")
	})
	// The forwarder keeps serving, on the same h2c client.
	resp, err := hc.Post(h.url+"/v1/messages", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("next request: status %d", resp.StatusCode)
	}
	if n := h.up.unauth.Load(); n != 0 {
		t.Errorf("%d unauthenticated upstream arrivals", n)
	}
	for _, r := range h.up.requests() {
		if len(r.Body) != 2 {
			t.Errorf("upstream completed a request with a %d-byte body: only the 2-byte one was whole", len(r.Body))
		}
	}
}
