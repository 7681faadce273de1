package lease

import (
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// TestRenewedExpiry pins the lifetime cap, case by case.
func TestRenewedExpiry(t *testing.T) {
	created := t0
	rows := []struct {
		name     string
		at       time.Duration // renewed this long after creation
		ttl      time.Duration
		lifetime time.Duration
		want     time.Duration // expiry, after creation
		capped   bool
	}{
		{"well inside the cap", time.Hour, 15 * time.Minute, 24 * time.Hour, time.Hour + 15*time.Minute, false},
		{"ends exactly at the cap", 23*time.Hour + 45*time.Minute, 15 * time.Minute, 24 * time.Hour, 24 * time.Hour, false},
		{"past the cap: shortened to it", 23*time.Hour + 50*time.Minute, 15 * time.Minute, 24 * time.Hour, 24 * time.Hour, true},
		{"no lifetime set: the 24h default", 23*time.Hour + 50*time.Minute, 15 * time.Minute, 0, 24 * time.Hour, true},
		{"a short lifetime", 50 * time.Minute, 15 * time.Minute, time.Hour, time.Hour, true},
	}
	for _, r := range rows {
		got, capped := RenewedExpiry(created, created.Add(r.at), r.ttl, r.lifetime)
		if got.Sub(created) != r.want || capped != r.capped {
			t.Errorf("%s: expiry +%v capped %v, want +%v capped %v", r.name, got.Sub(created), capped, r.want, r.capped)
		}
	}
}

// TestRenewCappedAtMaxLifetime: renewing forever does not keep a lease
// alive past created_at + lease_max_lifetime; the renewal that reaches the
// cap says so, and after it the lease expires for good.
func TestRenewCappedAtMaxLifetime(t *testing.T) {
	clk := clock.NewFake(t0)
	var rec recorder
	s := New(Config{Clock: clk, OnEvent: rec.on})
	c := Ceiling{Name: "anthropic", Hosts: []string{"api.anthropic.com"}, MaxTTL: 15 * time.Minute, MaxLifetime: time.Hour}
	me := self(t)
	l, sec, err := s.Create(c, api.CreateLeaseRequest{}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ { // at 10m, 20m, 30m, 40m: each renewal is whole
		clk.Advance(10 * time.Minute)
		if _, capped, err := s.Renew(l.ID, "", c); err != nil || capped {
			t.Fatalf("renewal %d: capped %v, %v", i, capped, err)
		}
	}
	clk.Advance(10 * time.Minute) // 50m: +15m would end at 65m
	if _, capped, err := s.Renew(l.ID, "", c); err != nil || !capped {
		t.Fatalf("renewal past the cap: capped %v, %v; want capped", capped, err)
	}
	if want := t0.Add(time.Hour); !l.ExpiresAt().Equal(want) {
		t.Errorf("expires %v, want the cap %v", l.ExpiresAt(), want)
	}
	if got := rec.events[len(rec.events)-1].Detail["reason"]; got != reasonLifetime {
		t.Errorf("renewal event reason %v, want %q", got, reasonLifetime)
	}
	clk.Advance(10 * time.Minute) // 60m
	if _, _, err := s.Renew(l.ID, "", c); CodeOf(err) != api.CodeLeaseExpired {
		t.Errorf("renew at the cap: %v, want lease_expired", err)
	}
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); CodeOf(err) != api.CodeLeaseExpired {
		t.Errorf("use at the cap: %v, want lease_expired", err)
	}
}

// TestCreateWithinMaxLifetime: a lease_max_lifetime shorter than the TTL
// asked for bounds the first expiry too.
func TestCreateWithinMaxLifetime(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk})
	c := Ceiling{Name: "a", Hosts: []string{"x.com"}, MaxTTL: time.Hour, MaxLifetime: 10 * time.Minute}
	l, _, err := s.Create(c, api.CreateLeaseRequest{}, Holder{Cred: self(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(10 * time.Minute); !l.ExpiresAt().Equal(want) {
		t.Errorf("expires %v, want %v", l.ExpiresAt(), want)
	}
}

// TestRenewWithinLoweredTTL: a renewal follows the credential's lease_ttl
// as it is now, not as it was when the lease was made.
func TestRenewWithinLoweredTTL(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk})
	c := Ceiling{Name: "a", Hosts: []string{"x.com"}, MaxTTL: time.Hour}
	l, _, err := s.Create(c, api.CreateLeaseRequest{}, Holder{Cred: self(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.MaxTTL = 5 * time.Minute
	if _, _, err := s.Renew(l.ID, "1h", c); CodeOf(err) != api.CodeBadRequest {
		t.Errorf("renew 1h under a 5m lease_ttl: %v, want bad_request", err)
	}
	if _, _, err := s.Renew(l.ID, "", c); err != nil || !l.ExpiresAt().Equal(t0.Add(5*time.Minute)) {
		t.Errorf("default renewal: %v, expires %v, want +5m", err, l.ExpiresAt())
	}
}

// TestLeasesPerUID: the store counts each uid's active leases for the
// quota; an ended lease frees its place.
func TestLeasesPerUID(t *testing.T) {
	clk := clock.NewFake(t0)
	admit := func(_ peer.Cred, held int) error {
		if held >= 2 {
			return &api.Problem{Status: 429, Code: api.CodeQuotaExceeded, Detail: "full"}
		}
		return nil
	}
	s := New(Config{Clock: clk, Admit: admit})
	me := self(t)
	other := peer.Cred{UID: me.UID + 1}
	var ids []string
	for i := 0; i < 2; i++ {
		l, _, err := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	if _, _, err := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me}); CodeOf(err) != api.CodeQuotaExceeded {
		t.Fatalf("3rd lease: %v, want quota_exceeded", err)
	}
	if _, _, err := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: other}); err != nil {
		t.Errorf("another uid's lease: %v", err)
	}
	if _, err := s.Revoke(ids[0], "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me}); err != nil {
		t.Errorf("after a revoke: %v", err)
	}
	clk.Advance(time.Hour)
	s.Sweep()
	if n := s.Held(me.UID); n != 0 {
		t.Errorf("after expiry: %d held, want 0", n)
	}
}

// TestShorten: reload moves an expiry earlier, never later.
func TestShorten(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk})
	l, _, err := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: self(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Shorten(l.ID, t0.Add(time.Hour), "reload") {
		t.Errorf("Shorten to a later time changed the lease")
	}
	if !s.Shorten(l.ID, t0.Add(5*time.Minute), "reload") || !l.ExpiresAt().Equal(t0.Add(5*time.Minute)) {
		t.Errorf("Shorten: expires %v, want +5m", l.ExpiresAt())
	}
}

// jumpClock is the real clock whose wall reading can be stepped, as
// settimeofday or an NTP step moves CLOCK_REALTIME, while its monotonic
// reading runs on (as in broker/tokens' walljump test).
type jumpClock struct{ offset atomic.Int64 }

func (c *jumpClock) Now() time.Time                       { return shiftWall(time.Now(), c.offset.Load()) }
func (c *jumpClock) NewTimer(d time.Duration) clock.Timer { return clock.Real().NewTimer(d) }

// shiftWall moves t's wall reading by sec seconds and keeps its monotonic
// reading, relying on time.Time's layout (checked before use).
func shiftWall(t time.Time, sec int64) time.Time {
	type layout struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	p := (*layout)(unsafe.Pointer(&t))
	if p.wall&(1<<63) == 0 {
		panic("shiftWall: no monotonic reading")
	}
	p.wall = uint64(int64(p.wall) + sec<<30)
	return t
}

// TestLeaseTimesAreMonotonic: a wall clock stepped two hours ahead does
// not expire a 15-minute lease, and one stepped back does not keep an
// expired one alive.
func TestLeaseTimesAreMonotonic(t *testing.T) {
	now := time.Now()
	if j := shiftWall(now, 3600); j.Sub(now) != 0 || j.Round(0).Sub(now.Round(0)) != time.Hour {
		t.Skipf("shiftWall does not model a wall-clock step on this Go version")
	}
	jc := &jumpClock{}
	s := New(Config{Clock: jc})
	me := self(t)
	l, sec, err := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	jc.offset.Store(2 * 3600)
	if _, err := s.Authorize(l.ID, sec.Reveal(), me); err != nil {
		t.Errorf("after the wall clock jumped 2h ahead: %v, want the lease still valid", err)
	}
	s.Sweep()
	if l.State() != api.LeaseActive {
		t.Errorf("the sweep ended the lease after a wall-clock jump: %s", l.State())
	}
	short, _, err := s.Create(cred, api.CreateLeaseRequest{TTL: "1ms"}, Holder{Cred: me})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // let 1ms of monotonic time pass
	jc.offset.Store(-2 * 3600)
	if _, err := s.Authorize(short.ID, "x", me); CodeOf(err) != api.CodeUnauthenticated {
		t.Fatalf("wrong secret: %v", err)
	}
	s.Sweep()
	if short.State() != api.LeaseExpired {
		t.Errorf("after the wall clock stepped back: %s, want expired", short.State())
	}
}
