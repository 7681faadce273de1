package lease

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/peer"
)

var (
	t0   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cred = Ceiling{Name: "anthropic", Hosts: []string{"api.anthropic.com"}, MaxTTL: 15 * time.Minute}
)

func self(t testing.TB) peer.Cred {
	st, err := peer.StartTime(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	return peer.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid()), StartTime: st}
}

// recorder collects events; OnEvent may be called from several goroutines.
type recorder struct {
	mu     sync.Mutex
	events []api.Event
}

func (r *recorder) on(e api.Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

func (r *recorder) types() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return strings.Join(out, ",")
}

func TestSecret(t *testing.T) {
	var logs bytes.Buffer
	s := New(Config{Clock: clock.NewFake(t0), Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})})
	l, sec, err := s.Create(cred, api.CreateLeaseRequest{Label: "fwd"}, Holder{Cred: self(t)})
	if err != nil {
		t.Fatal(err)
	}
	raw := sec.Reveal()
	if !strings.HasPrefix(raw, SecretPrefix) || len(raw) != len(SecretPrefix)+43 {
		t.Fatalf("secret shape: prefix %v, %d chars", strings.HasPrefix(raw, SecretPrefix), len(raw))
	}
	if bytes.Contains(l.hash[:], []byte(raw)) || string(l.hash[:]) == raw {
		t.Fatal("secret stored in clear")
	}
	if l.hash != sha256.Sum256([]byte(raw)) {
		t.Fatal("stored hash is not the secret's SHA-256")
	}
	_, sec2, _ := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: self(t)})
	if sec2.Reveal() == raw {
		t.Fatal("two leases got the same secret")
	}
	if strings.Contains(logs.String(), raw) || !strings.Contains(logs.String(), "lease created") {
		t.Fatalf("log leaks the secret or lacks the audit line:\n%s", logs.String())
	}
}

func TestAuthorize(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk})
	me := self(t)
	l, sec, err := s.Create(cred, api.CreateLeaseRequest{TTL: "10m"}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	proc, psec, err := s.Create(cred, api.CreateLeaseRequest{Bind: api.BindProcess}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	otherUID := me
	otherUID.UID++
	otherPID := me
	otherPID.PID++
	recycled := me
	recycled.StartTime++
	cases := []struct {
		name       string
		id, secret string
		caller     peer.Cred
		status     int
		code, msg  string
	}{
		{"holder", l.ID, sec.Reveal(), me, 0, "", ""},
		{"other pid on a uid lease", l.ID, sec.Reveal(), otherPID, 0, "", ""},
		{"unknown", "6b2a0d4e-1111-4000-8000-000000000000", sec.Reveal(), me, 404, api.CodeUnknownLease, "no lease 6b2a0d4e-1111-4000-8000-000000000000"},
		{"malformed id", "not-a-uuid", sec.Reveal(), me, 404, api.CodeUnknownLease, "no lease not-a-uuid"},
		{"wrong secret", l.ID, sec.Reveal() + "x", me, 401, api.CodeUnauthenticated, "wrong lease secret"},
		{"another lease's secret", l.ID, psec.Reveal(), me, 401, api.CodeUnauthenticated, "wrong lease secret"},
		{"empty secret", l.ID, "", me, 401, api.CodeUnauthenticated, "wrong lease secret"},
		{"huge secret", l.ID, strings.Repeat("a", 4096), me, 401, api.CodeUnauthenticated, "wrong lease secret"},
		{"other uid", l.ID, sec.Reveal(), otherUID, 403, api.CodeForbidden, "lease " + l.ID + " belongs to another uid"},
		{"process lease, holder", proc.ID, psec.Reveal(), me, 0, "", ""},
		{"process lease, other pid", proc.ID, psec.Reveal(), otherPID, 403, api.CodeForbidden, "lease " + proc.ID + " is bound to another process"},
		{"process lease, recycled pid", proc.ID, psec.Reveal(), recycled, 403, api.CodeForbidden, "lease " + proc.ID + " is bound to another process"},
	}
	for _, c := range cases {
		got, err := s.Authorize(c.id, c.secret, c.caller)
		if c.code == "" {
			if err != nil || got == nil || got.ID != c.id {
				t.Errorf("%s: Authorize = %v, %v", c.name, got, err)
			}
			continue
		}
		if status, code, msg, ok := refusalOf(err); !ok || status != c.status || code != c.code || msg != c.msg {
			t.Errorf("%s: Authorize error = %#v, want %d %s %q", c.name, err, c.status, c.code, c.msg)
		}
	}
	if n := l.Requests(); n != 2 {
		t.Errorf("uid lease counted %d requests, want 2 (refusals do not count)", n)
	}
	if n := proc.API().Requests; n != 1 {
		t.Errorf("process lease counted %d requests, want 1", n)
	}

	// Revoked and expired leases answer 410, each with its own code.
	if _, err := s.Revoke(proc.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authorize(proc.ID, psec.Reveal(), me); CodeOf(err) != api.CodeLeaseRevoked || err.(*Error).Status != 410 {
		t.Errorf("revoked: %v", err)
	}
	clk.Advance(10 * time.Minute)
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); CodeOf(err) != api.CodeLeaseExpired || err.(*Error).Status != 410 {
		t.Errorf("expired: %v", err)
	}
	// Wrong secret still says 401, not whether the lease ended.
	if _, err := s.Authorize(proc.ID, "awfl_nope", me); CodeOf(err) != api.CodeUnauthenticated {
		t.Errorf("wrong secret on a revoked lease: %v", err)
	}
}

func TestCreate(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk})
	me := self(t)
	l, _, err := s.Create(Ceiling{Name: "aws", Hosts: []string{"*.amazonaws.com"}, MaxTTL: time.Hour, NeedsBodySHA256: true},
		api.CreateLeaseRequest{Credential: "aws", Hosts: []string{"bedrock-runtime.us-east-1.amazonaws.com"}, TTL: "30m", Label: "fwd", Bind: api.BindProcess},
		Holder{Cred: me, Container: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	got := l.API()
	want := api.Lease{ID: l.ID, Credential: "aws", Scope: api.Scope{Hosts: []string{"bedrock-runtime.us-east-1.amazonaws.com"}},
		Holder: api.Holder{UID: me.UID, GID: me.GID, PID: me.PID, Label: "fwd", Container: "abc"}, Bind: api.BindProcess,
		State: api.LeaseActive, CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute), NeedsBodySHA256: true}
	if !equalScope(got.Scope, want.Scope) || got.Holder != want.Holder || got.Bind != want.Bind || got.State != want.State ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.NeedsBodySHA256 || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("API() = %+v\nwant   %+v", got, want)
	}
	if d, _, _ := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me}); !d.ExpiresAt().Equal(t0.Add(cred.MaxTTL)) {
		t.Errorf("default ttl: expires %v", d.ExpiresAt())
	}

	refusals := []struct {
		name   string
		req    api.CreateLeaseRequest
		holder peer.Cred
		code   string
		msg    string
	}{
		{"ttl over max", api.CreateLeaseRequest{TTL: "1h"}, me, api.CodeBadRequest, "ttl 1h0m0s exceeds the credential's lease_ttl 15m0s"},
		{"negative ttl", api.CreateLeaseRequest{TTL: "-1m"}, me, api.CodeBadRequest, `ttl "-1m" is not a positive duration such as "10m"`},
		{"zero ttl", api.CreateLeaseRequest{TTL: "0s"}, me, api.CodeBadRequest, `ttl "0s" is not a positive duration such as "10m"`},
		{"garbled ttl", api.CreateLeaseRequest{TTL: "soon"}, me, api.CodeBadRequest, `ttl "soon" is not a positive duration such as "10m"`},
		{"host outside", api.CreateLeaseRequest{Hosts: []string{"evil.com"}}, me, api.CodeScopeViolation, `host "evil.com" is outside the credential's hosts`},
		{"bad bind", api.CreateLeaseRequest{Bind: "host"}, me, api.CodeBadRequest, `bind must be "uid" or "process"`},
		{"process bind, invisible process", api.CreateLeaseRequest{Bind: api.BindProcess}, peer.Cred{UID: 1}, api.CodeProcessNotVisible, `bind "process" needs a caller whose process the broker can see (pid 0 is not visible in the broker's pid namespace); ask for bind "uid"`},
		{"bad prefix", api.CreateLeaseRequest{PathPrefixes: []string{"v1"}}, me, api.CodeBadRequest, `path prefix "v1" must start with / and be at most 512 bytes`},
		{"bad label", api.CreateLeaseRequest{Label: "a\nb"}, me, api.CodeBadRequest, "label must not contain control characters"},
	}
	for _, c := range refusals {
		_, _, err := s.Create(cred, c.req, Holder{Cred: c.holder})
		if _, code, msg, _ := refusalOf(err); CodeOf(err) != c.code || code != c.code || msg != c.msg {
			t.Errorf("%s: Create = %v, want %s %q", c.name, err, c.code, c.msg)
		}
	}
}

// refusalOf returns the status, code and caller-facing message of one of
// the store's refusals: an *Error of its own, or an *api.Problem of the
// access policy, returned as it is.
func refusalOf(err error) (status int, code, msg string, ok bool) {
	var e *Error
	var p *api.Problem
	switch {
	case errors.As(err, &e):
		return e.Status, e.Code, e.Msg, true
	case errors.As(err, &p):
		return p.Status, p.Code, p.Detail, true
	}
	return 0, "", "", false
}

func TestRenewRevokeAndEvents(t *testing.T) {
	clk := clock.NewFake(t0)
	var rec recorder
	s := New(Config{Clock: clk, OnEvent: rec.on})
	me := self(t)
	l, sec, err := s.Create(cred, api.CreateLeaseRequest{TTL: "10m"}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Minute)
	if _, _, err := s.Renew(l.ID, "20m", cred); CodeOf(err) != api.CodeBadRequest {
		t.Errorf("renew past max: %v", err)
	}
	if _, _, err := s.Renew(l.ID, "", cred); err != nil {
		t.Fatal(err)
	}
	if !l.ExpiresAt().Equal(clk.Now().Add(10 * time.Minute)) {
		t.Errorf("renewed with the lease's TTL: expires %v", l.ExpiresAt())
	}
	if _, _, err := s.Renew(l.ID, "15m", cred); err != nil || !l.ExpiresAt().Equal(clk.Now().Add(15*time.Minute)) {
		t.Errorf("renew 15m: %v, expires %v", err, l.ExpiresAt())
	}
	if _, _, err := s.Renew("6b2a0d4e-1111-4000-8000-000000000000", "", cred); CodeOf(err) != api.CodeUnknownLease {
		t.Errorf("renew unknown: %v", err)
	}
	got, err := s.Revoke(l.ID, "revoked by uid 0")
	if err != nil || got.State() != api.LeaseRevoked {
		t.Fatalf("revoke: %v %v", got, err)
	}
	if again, err := s.Revoke(l.ID, "again"); err != nil || again != l {
		t.Errorf("revoking twice: %v %v", again, err)
	}
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); CodeOf(err) != api.CodeLeaseRevoked {
		t.Errorf("after revoke: %v", err)
	}
	if _, _, err := s.Renew(l.ID, "", cred); CodeOf(err) != api.CodeLeaseRevoked {
		t.Errorf("renew after revoke: %v", err)
	}

	// An expired lease that the sweep has not seen yet: renew says 410
	// lease_expired and records the expiry.
	e, _, _ := s.Create(cred, api.CreateLeaseRequest{TTL: "1m"}, Holder{Cred: me})
	clk.Advance(time.Minute)
	if _, _, err := s.Renew(e.ID, "", cred); CodeOf(err) != api.CodeLeaseExpired {
		t.Errorf("renew after expiry: %v", err)
	}
	if e.State() != api.LeaseExpired {
		t.Errorf("state after failed renew = %s", e.State())
	}
	want := "lease.created,lease.renewed,lease.renewed,lease.revoked,lease.created,lease.expired"
	if got := rec.types(); got != want {
		t.Errorf("events = %s\nwant     %s", got, want)
	}
	rec.mu.Lock()
	ev := rec.events[3]
	rec.mu.Unlock()
	if ev.Lease != l.ID || ev.Credential != "anthropic" || ev.Detail["reason"] != "revoked by uid 0" || ev.Detail["uid"] != me.UID || !ev.Time.Equal(t0.Add(9*time.Minute)) {
		t.Errorf("revoke event = %+v", ev)
	}
}

func TestRevokeCredentialAndList(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk})
	me := self(t)
	other := Ceiling{Name: "other", Hosts: []string{"x.com"}, MaxTTL: time.Hour}
	var ids []string
	for i := range 3 {
		l, _, _ := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me})
		ids = append(ids, l.ID)
		if i == 0 {
			s.Revoke(l.ID, "early")
		}
		clk.Advance(time.Second)
	}
	o, _, _ := s.Create(other, api.CreateLeaseRequest{}, Holder{Cred: peer.Cred{UID: 1000}})
	if n := s.RevokeCredential("anthropic", "identity cleared"); n != 2 {
		t.Errorf("RevokeCredential revoked %d, want 2 (one had ended already)", n)
	}
	if o.State() != api.LeaseActive || s.Active() != 1 {
		t.Errorf("other credential's lease: %s; active %d", o.State(), s.Active())
	}
	all := s.List(nil)
	if len(all) != 4 || all[0].ID != ids[0] || all[2].ID != ids[2] || all[3].ID != o.ID {
		t.Errorf("List(nil) not oldest first: %+v", all)
	}
	mine := s.List(func(l *Lease) bool { return l.Holder.UID == 1000 })
	if len(mine) != 1 || mine[0].ID != o.ID {
		t.Errorf("filtered List = %+v", mine)
	}
	if none := New(Config{}).List(nil); none == nil || len(none) != 0 {
		t.Errorf("empty List = %#v, want []", none)
	}
}
