package forward

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// seenRequest is what the fake upstream received.
type seenRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// echo is the fake upstream's default answer.
type echo struct {
	Path       string `json:"path"`
	Query      string `json:"query"`
	Len        int    `json:"len"`
	BodySHA256 string `json:"body_sha256"`
}

// fakeUpstream is a provider API that accepts only the bearer the stub
// broker currently makes valid, and counts every arrival, in particular
// the unauthenticated ones and any that carry the agent's own key.
type fakeUpstream struct {
	srv *httptest.Server
	b   *stubBroker
	// route, when set, answers authenticated requests instead of the echo.
	route func(w http.ResponseWriter, r *http.Request, body []byte)
	// hangUp, when it reports true for a request (its body read), closes
	// the connection without an answer, before any check.
	hangUp func(r *http.Request) bool

	arrivals, unauth, agentKeys atomic.Int64

	mu   sync.Mutex
	seen []seenRequest

	sseRelease   chan struct{} // closed by a test to let /sse finish
	sseCanceled  chan struct{} // closed when an /sse request is canceled midway
	cancelOnce   sync.Once
	releaseOnce  sync.Once
	sseStartedCh chan struct{}
}

func newFakeUpstream(t testing.TB, tls bool) *fakeUpstream {
	u := &fakeUpstream{
		sseRelease: make(chan struct{}), sseCanceled: make(chan struct{}), sseStartedCh: make(chan struct{}, 16),
	}
	if tls {
		u.srv = httptest.NewTLSServer(http.HandlerFunc(u.serve))
	} else {
		u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	}
	t.Cleanup(func() {
		u.release()
		u.srv.Close()
	})
	return u
}

func (u *fakeUpstream) release() { u.releaseOnce.Do(func() { close(u.sseRelease) }) }

func (u *fakeUpstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

func (u *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	u.arrivals.Add(1)
	if r.Header.Get("X-Api-Key") != "" || strings.Contains(r.Header.Get("Authorization"), "agent") ||
		strings.Contains(r.Header.Get("Authorization"), "placeholder") {
		u.agentKeys.Add(1)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	u.mu.Lock()
	u.seen = append(u.seen, seenRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body})
	u.mu.Unlock()
	if u.hangUp != nil && u.hangUp(r) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+u.b.validToken() {
		u.unauth.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid bearer token"}}`)
		return
	}
	if u.route != nil {
		u.route(w, r, body)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/sse") {
		u.serveSSE(w, r)
		return
	}
	sum := sha256.Sum256(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Upstream", "fake")
	json.NewEncoder(w).Encode(echo{Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Len: len(body),
		BodySHA256: hex.EncodeToString(sum[:])})
}

// serveSSE sends one event, then blocks until the test releases it (or
// the request is canceled), then sends a second event.
func (u *fakeUpstream) serveSSE(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "event: one\ndata: {\"n\":1}\n\n")
	w.(http.Flusher).Flush()
	u.sseStartedCh <- struct{}{}
	select {
	case <-u.sseRelease:
	case <-r.Context().Done():
		u.cancelOnce.Do(func() { close(u.sseCanceled) })
		return
	}
	io.WriteString(w, "event: two\ndata: {\"n\":2}\n\n")
}
