package lease

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/peer"
)

var cred = CredentialInfo{Name: "anthropic", Hosts: []string{"api.anthropic.com"}, MaxTTL: 15 * time.Minute}

func self(t *testing.T) peer.Cred {
	st, err := peer.StartTime(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	return peer.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid()), StartTime: st}
}

func TestLifecycle(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var events []string
	s := New(Config{Clock: clk, OnEvent: func(e api.Event) { events = append(events, e.Type) }})
	me := self(t)
	l, sec, err := s.Create(cred, api.CreateLeaseRequest{Credential: "anthropic", TTL: "10m"}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sec.Reveal(), SecretPrefix) || len(sec.Reveal()) < 40 {
		t.Fatalf("secret shape: %d chars", len(sec.Reveal()))
	}
	if strings.Contains(string(l.hash[:]), sec.Reveal()) {
		t.Fatal("secret stored in clear")
	}
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		id     string
		secret string
		caller peer.Cred
		want   string
	}{
		{"unknown", "6b2a0d4e-1111-4000-8000-000000000000", sec.Reveal(), me, api.CodeUnknownLease},
		{"wrong secret", l.ID, sec.Reveal() + "x", me, api.CodeUnauthenticated},
		{"other uid", l.ID, sec.Reveal(), peer.Cred{UID: 65534, PID: me.PID, StartTime: me.StartTime}, api.CodeForbidden},
	}
	for _, c := range cases {
		if _, err := s.Authorize(c.id, c.secret, c.caller); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if l.API().Requests != 1 {
		t.Errorf("requests = %d", l.API().Requests)
	}
	clk.Advance(9 * time.Minute)
	if _, err := s.Renew(l.ID, "20m"); code(err) != api.CodeBadRequest {
		t.Errorf("renew past max: %v", err)
	}
	if _, err := s.Renew(l.ID, ""); err != nil {
		t.Fatal(err)
	}
	if !l.ExpiresAt().Equal(clk.Now().Add(10 * time.Minute)) {
		t.Errorf("renewed expiry = %v", l.ExpiresAt())
	}
	if _, err := s.Revoke(l.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); code(err) != api.CodeLeaseRevoked {
		t.Errorf("after revoke: %v", err)
	}
	if _, err := s.Renew(l.ID, ""); code(err) != api.CodeLeaseRevoked {
		t.Errorf("renew after revoke: %v", err)
	}
	if got := strings.Join(events, ","); got != "lease.created,lease.renewed,lease.revoked" {
		t.Errorf("events = %s", got)
	}
	clk.Advance(TombstoneTTL + time.Minute)
	s.Sweep()
	if _, err := s.Get(l.ID); code(err) != api.CodeUnknownLease {
		t.Errorf("tombstone not dropped: %v", err)
	}
}

func TestExpiryAndSweep(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(Config{Clock: clk})
	me := self(t)
	l, sec, _ := s.Create(cred, api.CreateLeaseRequest{TTL: "1m"}, Holder{Cred: me})
	clk.Advance(time.Minute)
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); code(err) != api.CodeLeaseExpired {
		t.Fatalf("expired lease: %v", err)
	}
	s.Sweep()
	if l.State() != api.LeaseExpired || s.Active() != 0 {
		t.Errorf("state %s active %d", l.State(), s.Active())
	}
}

func TestCreateRefusals(t *testing.T) {
	s := New(Config{})
	me := self(t)
	cases := []struct {
		req  api.CreateLeaseRequest
		want string
	}{
		{api.CreateLeaseRequest{TTL: "1h"}, api.CodeBadRequest},
		{api.CreateLeaseRequest{TTL: "-1m"}, api.CodeBadRequest},
		{api.CreateLeaseRequest{TTL: "soon"}, api.CodeBadRequest},
		{api.CreateLeaseRequest{Hosts: []string{"evil.com"}}, api.CodeScopeViolation},
		{api.CreateLeaseRequest{Bind: "host"}, api.CodeBadRequest},
		{api.CreateLeaseRequest{PathPrefixes: []string{"v1"}}, api.CodeBadRequest},
		{api.CreateLeaseRequest{Methods: []string{"get"}, PathPrefixes: []string{"/v1/models"}}, ""},
	}
	for _, c := range cases {
		l, _, err := s.Create(cred, c.req, Holder{Cred: me})
		if code(err) != c.want {
			t.Errorf("Create(%+v) = %v, want %q", c.req, err, c.want)
		}
		if err == nil && (l.Scope.Methods[0] != "GET" || l.Scope.Hosts[0] != "api.anthropic.com") {
			t.Errorf("scope = %+v", l.Scope)
		}
	}
}

func TestProcessBinding(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(Config{Clock: clk})
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := int32(child.Process.Pid)
	st, _ := peer.StartTime(pid)
	holder := peer.Cred{UID: uint32(os.Getuid()), PID: pid, StartTime: st}
	l, sec, err := s.Create(cred, api.CreateLeaseRequest{Bind: api.BindProcess}, Holder{Cred: holder})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authorize(l.ID, sec.Reveal(), holder); err != nil {
		t.Fatal(err)
	}
	// Same uid, right secret, other process: refused.
	if _, err := s.Authorize(l.ID, sec.Reveal(), self(t)); code(err) != api.CodeForbidden {
		t.Fatalf("other process: %v", err)
	}
	recycled := holder
	recycled.StartTime++
	if _, err := s.Authorize(l.ID, sec.Reveal(), recycled); code(err) != api.CodeForbidden {
		t.Fatalf("recycled pid: %v", err)
	}
	s.Sweep()
	if l.State() != api.LeaseActive {
		t.Fatal("revoked while the holder lives")
	}
	child.Process.Kill()
	child.Wait()
	s.Sweep()
	if l.State() != api.LeaseRevoked {
		t.Fatalf("state after holder exit = %s", l.State())
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s := New(Config{})
	me := peer.Cred{UID: 1000, PID: 1, StartTime: 1}
	ids := make([]string, 1000)
	secs := make([]string, 1000)
	for i := range ids {
		l, sec, _ := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me})
		ids[i], secs[i] = l.ID, sec.Reveal()
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Authorize(ids[i%1000], secs[i%1000], me); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
