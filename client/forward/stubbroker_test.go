package forward

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// brokerMode is how the stub answers header requests.
type brokerMode int

const (
	modeOK          brokerMode = iota
	modeUnavailable            // 503 credential_unavailable + Retry-After
	modeFailed                 // 503 credential_failed, upstream invalid_grant
	modeGarbage                // 200 with a body that is not JSON
	modeEmptyGrant             // 200 granting no headers
)

// stubLease is one lease the stub granted.
type stubLease struct {
	id, secret string
	ttl        time.Duration
	expires    time.Time
	revoked    bool
}

// stubBroker is a strict stand-in for awf-brokerd on a real unix socket:
// it implements the lease, headers, invalidate and health routes with the
// api types and problem+json errors, verifies lease secrets, and records
// every violation of the headers contract it sees (a stripped header in
// the headers map, a missing or unexpected body hash, unknown JSON fields).
type stubBroker struct {
	sock       string
	credential string
	upHost     string // the only host the lease's scope allows
	needsSHA   bool

	mu         sync.Mutex
	srv        *http.Server
	leases     map[string]*stubLease
	seq        int
	granted    int // the token generation /headers grants ("tok-N")
	valid      int // the token generation the upstream accepts
	mode       brokerMode
	retryAfter int
	violations []string
	seen       []api.HeadersRequest
	createdAt  []time.Time
	renewedAt  []time.Time

	creates, renews, revokes, headerCalls, invalidates atomic.Int64
}

func newStubBroker(t testing.TB, upHost string, needsSHA bool) *stubBroker {
	dir := t.TempDir()
	if len(dir) > 90 { // unix socket paths are limited to 108 bytes
		d, err := os.MkdirTemp("", "awf")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	b := &stubBroker{
		sock: filepath.Join(dir, "b.sock"), credential: "anthropic", upHost: upHost,
		needsSHA: needsSHA, leases: map[string]*stubLease{}, granted: 1, valid: 1,
	}
	b.up()
	t.Cleanup(func() {
		b.down()
		if v := b.violationList(); len(v) > 0 {
			t.Errorf("stub broker saw contract violations:\n%s", strings.Join(v, "\n"))
		}
	})
	return b
}

// up (re)starts serving on the socket.
func (b *stubBroker) up() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return
	}
	ln, err := net.Listen("unix", b.sock)
	if err != nil {
		panic(fmt.Sprintf("stub broker listen: %v", err))
	}
	b.srv = &http.Server{Handler: b.routes()}
	go b.srv.Serve(ln)
}

// down stops serving and removes the socket: clients see it unreachable.
func (b *stubBroker) down() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (b *stubBroker) setMode(m brokerMode, retryAfter int) {
	b.mu.Lock()
	b.mode, b.retryAfter = m, retryAfter
	b.mu.Unlock()
}

// forget drops every lease, as a broker restart does.
func (b *stubBroker) forget() {
	b.mu.Lock()
	b.leases = map[string]*stubLease{}
	b.mu.Unlock()
}

// revokeAll revokes every lease, as `awf-broker-cli lease revoke` does.
func (b *stubBroker) revokeAll() {
	b.mu.Lock()
	for _, l := range b.leases {
		l.revoked = true
	}
	b.mu.Unlock()
}

// expireAll makes every lease expired.
func (b *stubBroker) expireAll() {
	b.mu.Lock()
	for _, l := range b.leases {
		l.expires = time.Now().Add(-time.Second)
	}
	b.mu.Unlock()
}

// rotate makes the upstream accept a new token that the broker does not
// grant until invalidated: the next request meets a 401.
func (b *stubBroker) rotate() {
	b.mu.Lock()
	b.valid++
	b.mu.Unlock()
}

func (b *stubBroker) validToken() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return "tok-" + strconv.Itoa(b.valid)
}

func (b *stubBroker) violationList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.violations...)
}

func (b *stubBroker) seenRequests() []api.HeadersRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]api.HeadersRequest(nil), b.seen...)
}

func (b *stubBroker) violate(format string, args ...any) {
	b.mu.Lock()
	b.violations = append(b.violations, fmt.Sprintf(format, args...))
	b.mu.Unlock()
}
