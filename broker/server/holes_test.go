package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// The tests of this file each close a hole issue 13 found; each fails on
// the code before it.

// TestProcessLeaseManagement: a non-admin reads, renews or revokes a
// process-bound lease only from its holder process or with its secret;
// another process of the same uid (which could otherwise stop a
// forwarder for good) is refused 403.
func TestProcessLeaseManagement(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	holder := peer.Cred{UID: 1001, GID: 1001, PID: 500, StartTime: 11}
	sibling := peer.Cred{UID: 1001, GID: 1001, PID: 501, StartTime: 12}
	r := h.as(holder, "POST", "/v1/leases", `{"credential":"anthropic","bind":"process"}`, "")
	var l api.CreatedLease
	r.decode(t, &l)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	uidLease := h.as(holder, "POST", "/v1/leases", `{"credential":"anthropic"}`, "")
	var ul api.CreatedLease
	uidLease.decode(t, &ul)
	const refusal = "lease %s is bound to another process: manage it from that process or present its secret"
	rows := []struct {
		name         string
		caller       peer.Cred
		method, path string
		bearer       string
		status       int
		code         string
	}{
		{"sibling reads", sibling, "GET", "/v1/leases/" + l.ID, "", 403, api.CodeForbidden},
		{"sibling renews", sibling, "POST", "/v1/leases/" + l.ID + "/renew", "", 403, api.CodeForbidden},
		{"sibling revokes", sibling, "DELETE", "/v1/leases/" + l.ID, "", 403, api.CodeForbidden},
		{"sibling with a wrong secret", sibling, "DELETE", "/v1/leases/" + l.ID, ul.Secret, 403, api.CodeForbidden},
		{"sibling manages the uid lease", sibling, "GET", "/v1/leases/" + ul.ID, "", 200, ""},
		{"holder reads", holder, "GET", "/v1/leases/" + l.ID, "", 200, ""},
		{"holder renews", holder, "POST", "/v1/leases/" + l.ID + "/renew", "", 200, ""},
		{"sibling with the secret renews", sibling, "POST", "/v1/leases/" + l.ID + "/renew", l.Secret, 200, ""},
		{"sibling with the secret revokes", sibling, "DELETE", "/v1/leases/" + l.ID, l.Secret, 200, ""},
	}
	for _, row := range rows {
		r := h.as(row.caller, row.method, row.path, "", row.bearer)
		if r.status != row.status {
			t.Errorf("%s: %d %s, want %d %s", row.name, r.status, r.body, row.status, row.code)
			continue
		}
		if row.code != "" {
			p := r.problem(t)
			if p.Code != row.code || (row.bearer == "" && p.Detail != strings.Replace(refusal, "%s", l.ID, 1)) {
				t.Errorf("%s: %+v", row.name, p)
			}
		}
	}
}

// TestRenewSaysCapped: a renewal past the lease's maximum lifetime is
// shortened to it, and the answer says so.
func TestRenewSaysCapped(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.creds["open"].info.LeaseMaxLifetime = 20 * time.Minute
	l := h.create(`{"credential":"open"}`) // 15m
	h.clk.Advance(10 * time.Minute)
	r := h.do("POST", "/v1/leases/"+l.ID+"/renew", "", "")
	var got api.RenewedLease
	r.decode(t, &got)
	if r.status != 200 || !got.Capped || !got.ExpiresAt.Equal(start.Add(20*time.Minute)) {
		t.Errorf("renew past the cap: %d %s, want capped at +20m", r.status, r.body)
	}
	h.clk.Advance(time.Minute)
	r = h.do("POST", "/v1/leases/"+l.ID+"/renew", `{"ttl":"1m"}`, "")
	r.decode(t, &got)
	if r.status != 200 || got.Capped {
		t.Errorf("renew within the cap: %d %s, want not capped", r.status, r.body)
	}
}

// TestReadyForNonAdmins: GET /v1/ready shows a non-admin the overall state
// and only the credentials it may lease; the unidentified see the state.
func TestReadyForNonAdmins(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.creds["restricted"].set(api.StateFailed, nil)
	h.creds["open"].set(api.StatePending, nil)
	rows := []struct {
		name   string
		caller *peer.Cred
		want   []string
	}{
		{"admin", &peer.Cred{UID: 0}, []string{"open", "restricted"}},
		{"uid 65534 (may lease open)", &peer.Cred{UID: 65534, GID: 65534}, []string{"open"}},
		{"uid 1001 (may lease restricted)", &peer.Cred{UID: 1001, GID: 1001}, []string{"restricted"}},
		{"uid 4000 (may lease nothing)", &peer.Cred{UID: 4000, GID: 4000}, nil},
		{"unidentified", nil, nil},
	}
	for _, row := range rows {
		var r reply
		if row.caller == nil {
			req, _ := http.NewRequest("GET", "http://unix/v1/ready", nil)
			rec := newRecorder()
			h.srv.Handler().ServeHTTP(rec, req)
			r = reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		} else {
			r = h.as(*row.caller, "GET", "/v1/ready", "", "")
		}
		var ready api.Ready
		r.decode(t, &ready)
		var names []string
		for _, e := range ready.NotReady {
			names = append(names, e.Credential)
		}
		if r.status != 503 || ready.Ready || strings.Join(names, ",") != strings.Join(row.want, ",") {
			t.Errorf("%s: %d %s, want 503 listing %v", row.name, r.status, r.body, row.want)
		}
	}
}

// TestRegisterIdentityHosts: a non-admin's request URL must name a host
// of allowed_request_hosts; loopback is not implied. Admins may.
func TestRegisterIdentityHosts(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	body := func(u string) string { return `{"request_url":"` + u + `","request_token":"t"}` }
	rows := []struct {
		name   string
		caller peer.Cred
		url    string
		status int
		detail string
	}{
		{"non-admin, GitHub's host", callerUID(1001), "https://pipelines.actions.githubusercontent.com/x", 200, ""},
		{"non-admin, loopback", callerUID(1001), "http://127.0.0.1:8080/steal", 403,
			`identity "github": uid 1001 may register a loopback request URL only when allowed_request_hosts lists "127.0.0.1"`},
		{"non-admin, localhost", callerUID(1001), "http://localhost:22/", 403,
			`identity "github": uid 1001 may register a loopback request URL only when allowed_request_hosts lists "localhost"`},
		{"non-admin, another host", callerUID(1001), "https://evil.example.com/", 403,
			`identity "github": request host "evil.example.com" is not in allowed_request_hosts`},
		{"admin, loopback", peer.Cred{UID: 0}, "http://127.0.0.1:8080/", 200, ""},
	}
	for _, row := range rows {
		r := h.as(row.caller, "PUT", "/v1/identities/github", body(row.url), "")
		if r.status != row.status {
			t.Errorf("%s: %d %s, want %d", row.name, r.status, r.body, row.status)
			continue
		}
		if row.detail != "" {
			if p := r.problem(t); p.Code != api.CodeForbidden || p.Detail != row.detail {
				t.Errorf("%s: %+v, want forbidden %q", row.name, p, row.detail)
			}
		}
	}
}

// TestLeaseQuota: past leases_per_uid, 429 quota_exceeded with
// Retry-After, admins included.
func TestLeaseQuota(t *testing.T) {
	h := newHarness(t, harnessOpts{limits: access.Limits{LeasesPerUID: 2}})
	a := h.create(`{"credential":"open"}`)
	h.create(`{"credential":"open"}`)
	r := h.do("POST", "/v1/leases", `{"credential":"open"}`, "")
	if p := r.problem(t); r.status != 429 || p.Code != api.CodeQuotaExceeded || r.header.Get("Retry-After") != "1" ||
		p.Detail != "uid 0 already has 2 leases (limits.leases_per_uid = 2)" {
		t.Errorf("3rd lease: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if !strings.Contains(h.logs.String(), `"code":"quota_exceeded"`) || !strings.Contains(h.logs.String(), `"@message":"request refused"`) {
		t.Errorf("no audit line for the quota refusal:\n%s", h.logs.String())
	}
	if r := h.do("DELETE", "/v1/leases/"+a.ID, "", ""); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	h.create(`{"credential":"open"}`) // a revoked lease frees its place
}

// rawRequest writes one HTTP/1.1 request on c and reads the answer.
func rawRequest(t *testing.T, c net.Conn, req string) (*http.Response, []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

const healthReq = "GET /v1/health HTTP/1.1\r\nHost: unix\r\n\r\n"

// TestConnectionQuota: a connection past its uid's connections_per_uid
// is answered 429 quota_exceeded and closed; once one closes, another
// is accepted.
func TestConnectionQuota(t *testing.T) {
	h := newHarness(t, harnessOpts{limits: access.Limits{ConnectionsPerUID: 2}})
	dial := func() net.Conn {
		c, err := net.Dial("unix", h.sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first, second := dial(), dial()
	for _, c := range []net.Conn{first, second} {
		if resp, b := rawRequest(t, c, healthReq); resp.StatusCode != 200 {
			t.Fatalf("within the quota: %d %s", resp.StatusCode, b)
		}
	}
	third := dial()
	resp, b := rawRequest(t, third, healthReq)
	var p api.Problem
	json.Unmarshal(b, &p)
	if resp.StatusCode != 429 || p.Code != api.CodeQuotaExceeded || p.Detail != "uid 0 already has 2 connections (limits.connections_per_uid = 2)" {
		t.Errorf("past the quota: %d %s", resp.StatusCode, b)
	}
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := third.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the refused connection was not closed: %d, %v", n, err)
	}
	first.Close()
	// The server notices the close asynchronously: wait for the state.
	testharness.WaitFor(t, 5*time.Second, "a connection to be accepted once another closed", func() bool {
		c := dial()
		defer c.Close()
		resp, _ := rawRequest(t, c, healthReq)
		return resp.StatusCode == 200
	})
}

// TestSubscriberQuota: past subscribers_per_uid, GET /v1/events answers
// 429 before any upgrade.
func TestSubscriberQuota(t *testing.T) {
	entered := make(chan struct{}, 4)
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
	})
	h := newHarness(t, harnessOpts{events: events, limits: access.Limits{SubscribersPerUID: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://unix/v1/events", nil)
		if resp, err := h.hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	r := h.do("GET", "/v1/events", "", "")
	if p := r.problem(t); r.status != 429 || p.Code != api.CodeQuotaExceeded ||
		p.Detail != "uid 0 already has 1 event subscriptions (limits.subscribers_per_uid = 1)" {
		t.Errorf("2nd subscriber: %d %s", r.status, r.body)
	}
	cancel()
	<-done
}

// TestBodyReadTimeout: a request whose body does not arrive in time is
// answered 400 and its connection closed, instead of holding it forever.
func TestBodyReadTimeout(t *testing.T) {
	h := newHarness(t, harnessOpts{bodyTimeout: 200 * time.Millisecond})
	c, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, b := rawRequest(t, c, "POST /v1/leases HTTP/1.1\r\nHost: unix\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"credential\":")
	var p api.Problem
	json.Unmarshal(b, &p)
	if resp.StatusCode != 400 || p.Code != api.CodeBadRequest || p.Detail != "the request body did not arrive within 200ms" {
		t.Errorf("stalled body: %d %s", resp.StatusCode, b)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the connection stayed open: %v", err)
	}
}

// TestUnreadBodyTimeout: a body sent to a route that reads none is
// bounded too: the connection is closed at the deadline.
func TestUnreadBodyTimeout(t *testing.T) {
	h := newHarness(t, harnessOpts{bodyTimeout: 200 * time.Millisecond})
	c, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, b := rawRequest(t, c, "GET /v1/health HTTP/1.1\r\nHost: unix\r\nContent-Length: 100\r\n\r\nabc")
	if resp.StatusCode != 200 {
		t.Errorf("health: %d %s", resp.StatusCode, b)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the connection stayed open: %v", err)
	}
}

// TestUnidentifiedCaller: a caller the broker could not identify gets
// only the routes anyone may call.
func TestUnidentifiedCaller(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	rows := []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/health", 200},
		{"GET", "/v1/ready", 200},
		{"GET", "/v1/credentials", 403},
		{"GET", "/v1/leases", 403},
		{"POST", "/v1/leases", 403},
		{"GET", "/metrics", 403},
	}
	for _, r := range rows {
		req, _ := http.NewRequest(r.method, "http://unix"+r.path, strings.NewReader(`{"credential":"open"}`))
		rec := newRecorder()
		h.srv.Handler().ServeHTTP(rec, req) // no peer in the context
		if rec.Code != r.status {
			t.Errorf("%s %s unidentified: %d %s, want %d", r.method, r.path, rec.Code, rec.Body, r.status)
		}
		if r.status == 403 && !strings.Contains(rec.Body.String(), "the broker could not identify the caller") {
			t.Errorf("%s %s: %s", r.method, r.path, rec.Body)
		}
	}
}
