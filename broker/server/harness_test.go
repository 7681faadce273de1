package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// tokenValue is the stub credentials' token; it must never reach a log.
const tokenValue = "sk-ant-oat01-STUBTOKEN"

var start = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// stubCred is a Credential whose answers the test sets.
type stubCred struct {
	info Description
	mu   sync.Mutex
	// state is what Status reports (default ready).
	state string
	// err, when set, is what Headers, Refresh and Invalidate return.
	err error
	// validUntil is the token's expiry Headers reports.
	validUntil time.Time
	last       provider.Request
	calls      int
}

func (c *stubCred) Info() Description { return c.info }

func (c *stubCred) Status() api.CredentialStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state
	if st == "" {
		st = api.StateReady
	}
	return api.CredentialStatus{Name: c.info.Name, Provider: c.info.Provider, State: st, Hosts: c.info.Hosts, LeaseTTL: c.info.LeaseTTL.String(), NeedsBodySHA256: c.info.NeedsBodySHA256}
}

func (c *stubCred) Headers(_ context.Context, req *provider.Request) (provider.Grant, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.last = *req
	if c.err != nil {
		return provider.Grant{}, time.Time{}, c.err
	}
	return provider.Grant{Set: map[string]string{"authorization": "Bearer " + tokenValue, "anthropic-version": "2023-06-01"}}, c.validUntil, nil
}

func (c *stubCred) Refresh(ctx context.Context) (api.CredentialStatus, error) {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return api.CredentialStatus{}, err
	}
	return c.Status(), nil
}

func (c *stubCred) Invalidate(ctx context.Context) (api.CredentialStatus, error) {
	return c.Refresh(ctx)
}

func (c *stubCred) set(state string, err error) {
	c.mu.Lock()
	c.state, c.err = state, err
	c.mu.Unlock()
}

type stubSource map[string]*stubCred

func (s stubSource) Get(name string) (Issuer, bool) {
	c, ok := s[name]
	if !ok {
		return nil, false
	}
	return c, true
}

func (s stubSource) All() []Issuer {
	var out []Issuer
	for _, n := range []string{"anthropic", "aws", "open", "restricted"} {
		if c, ok := s[n]; ok {
			out = append(out, c)
		}
	}
	return out
}

// stubIdentities registers anything the policy let through.
type stubIdentities struct{}

func (stubIdentities) Register(_ context.Context, name string, _ api.IdentityRegistration) (api.Identity, error) {
	return api.Identity{Name: name, Type: "github-actions", Registered: true, Generation: 1}, nil
}

func (stubIdentities) Clear(_ context.Context, name string) (api.Identity, error) {
	return api.Identity{Name: name, Type: "github-actions", Generation: 2}, nil
}

// harnessPolicy is the access policy of the harness: admins are uid 0
// (the daemon's own uid too) and those of admin; the credentials' allow
// lists are the harness's; identity "github" allows uids 1001 and 65534
// and GitHub's hosts.
func harnessPolicy(admin access.Allow, limits access.Limits) *access.Policy {
	return access.New(access.Config{
		Self: 0, Admin: admin, Limits: limits,
		Credentials: []access.Leasable{
			{Name: "anthropic", Allow: access.Allow{UIDs: []uint32{1001}}},
			{Name: "aws", Allow: access.Allow{GIDs: []uint32{1001}}},
			{Name: "open", Allow: access.Allow{UIDs: []uint32{65534}}},
			{Name: "restricted", Allow: access.Allow{UIDs: []uint32{1001}}},
		},
		Identities: []access.Identity{{Name: "github", Allow: access.Allow{UIDs: []uint32{1001, 65534}},
			RequestHosts: []string{"*.actions.githubusercontent.com"}}},
	})
}

// harness is a server on a real unix socket, with stub credentials:
//
//	anthropic  hosts api.anthropic.com, 127.0.0.1; allow uid 1001
//	aws        hosts *.amazonaws.com; needs body_sha256; allow gid 1001
//	open       hosts api.anthropic.com; allow uid 65534
//	restricted hosts api.anthropic.com; allow uid 1001
//
// Admins are uid 0 unless the test says otherwise.
type harness struct {
	t      *testing.T
	dir    string
	sock   string
	clk    *clock.Fake
	creds  stubSource
	leases *lease.Store
	srv    *Server
	hc     *http.Client
	logs   *testlog.Buffer
}

type harnessOpts struct {
	admin   access.Allow
	limits  access.Limits
	metrics http.Handler
	events  http.Handler
	noIDs   bool
	// bodyTimeout is the server's BodyReadTimeout (0: the default).
	bodyTimeout time.Duration
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	// A directory others can traverse, for the uid 65534 helper.
	dir, err := os.MkdirTemp("", "awf-server-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, sock: filepath.Join(dir, "broker.sock"), clk: clock.NewFake(start), logs: &testlog.Buffer{}}
	h.creds = stubSource{
		"anthropic":  {info: Description{Name: "anthropic", Provider: "anthropic", Hosts: []string{"api.anthropic.com", "127.0.0.1"}, LeaseTTL: 15 * time.Minute}, validUntil: start.Add(time.Hour)},
		"aws":        {info: Description{Name: "aws", Provider: "aws", Hosts: []string{"*.amazonaws.com"}, LeaseTTL: time.Hour, NeedsBodySHA256: true}, validUntil: start.Add(5 * time.Minute)},
		"open":       {info: Description{Name: "open", Provider: "static", Hosts: []string{"api.anthropic.com"}, LeaseTTL: 15 * time.Minute}},
		"restricted": {info: Description{Name: "restricted", Provider: "static", Hosts: []string{"api.anthropic.com"}, LeaseTTL: 15 * time.Minute}},
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: h.logs, Level: hclog.Trace, JSONFormat: true})
	pol := harnessPolicy(o.admin, o.limits)
	h.leases = lease.New(lease.Config{Clock: h.clk, Logger: logger, Admit: pol.MayAddLease})
	cfg := Config{Credentials: h.creds, Leases: h.leases, Policy: func() *access.Policy { return pol }, Version: "test", Logger: logger, Clock: h.clk,
		Metrics: o.metrics, Events: o.events, ContainerID: func(int32) string { return "" }, BodyReadTimeout: o.bodyTimeout}
	if !o.noIDs {
		cfg.Identities = stubIdentities{}
	}
	h.srv = New(cfg)
	l, err := peer.Listen(h.sock, 0o666, -1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, l) }()
	h.hc = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", h.sock)
	}}}
	t.Cleanup(func() {
		h.hc.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if strings.Contains(h.logs.String(), tokenValue) {
			t.Errorf("the log holds the token")
		}
	})
	return h
}

// reply is one answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) problem(t *testing.T) api.Problem {
	t.Helper()
	var p api.Problem
	if ct := r.header.Get("Content-Type"); ct != api.ProblemContentType {
		t.Errorf("Content-Type %q on a %d, want %s; body %s", ct, r.status, api.ProblemContentType, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	if p.Type != api.ProblemTypeBase+p.Code || p.Title == "" || p.Status != r.status {
		t.Errorf("problem %+v on a %d", p, r.status)
	}
	return p
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// do sends one request over the socket; bearer "" sends no Authorization.
func (h *harness) do(method, path, body, bearer string) reply {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://unix"+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// create makes a lease as the test process (root) and returns it.
func (h *harness) create(body string) api.CreatedLease {
	h.t.Helper()
	r := h.do("POST", "/v1/leases", body, "")
	if r.status != http.StatusCreated {
		h.t.Fatalf("create %s: %d %s", body, r.status, r.body)
	}
	var l api.CreatedLease
	r.decode(h.t, &l)
	return l
}

// as serves one request in-process as caller, through the same handler.
func (h *harness) as(caller peer.Cred, method, path, body, bearer string) reply {
	h.t.Helper()
	req := httptest.NewRequest(method, "http://unix"+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req = req.WithContext(peer.WithCred(req.Context(), caller))
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// errDeadline is context.DeadlineExceeded, named for the stubs.
var errDeadline = context.DeadlineExceeded

// callerUID is a non-root caller with that uid and gid.
func callerUID(uid uint32) peer.Cred { return peer.Cred{UID: uid, GID: uid, PID: 4242, StartTime: 1} }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func (s stubSource) LeaseChange(f func() error) error { return f() }
