package lease

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// runSweeps starts the store's loop and returns a function that advances
// the fake clock by one interval and waits for that sweep to finish.
func runSweeps(t *testing.T, s *Store, clk *clock.Fake) (step func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if n := clk.Pending(); n != 0 {
			t.Errorf("%d timers left after Run returned", n)
		}
	})
	wait := func() {
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		if err := clk.WaitForTimers(wctx, 1); err != nil {
			t.Fatal("sweep loop not waiting")
		}
	}
	wait()
	return func() {
		clk.Advance(s.cfg.SweepInterval)
		wait() // the next timer exists only once the sweep is done
	}
}

func TestSweepExpiresAndDropsTombstones(t *testing.T) {
	clk := clock.NewFake(t0)
	var rec recorder
	s := New(Config{Clock: clk, OnEvent: rec.on, SweepInterval: 5 * time.Second, TombstoneTTL: time.Minute})
	step := runSweeps(t, s, clk)
	me := self(t)
	short, sec, _ := s.Create(cred, api.CreateLeaseRequest{TTL: "7s"}, Holder{Cred: me})
	long, _, _ := s.Create(cred, api.CreateLeaseRequest{TTL: "1m"}, Holder{Cred: me})

	step() // t=5s
	if short.State() != api.LeaseActive {
		t.Fatal("expired early")
	}
	step() // t=10s
	if short.State() != api.LeaseExpired || long.State() != api.LeaseActive {
		t.Fatalf("after 10s: short %s, long %s", short.State(), long.State())
	}
	if _, err := s.Authorize(short.ID, sec.Reveal(), me); CodeOf(err) != api.CodeLeaseExpired {
		t.Errorf("tombstone answers %v, want lease_expired", err)
	}
	for range 12 { // t=70s: the tombstone is 60s old
		step()
	}
	if _, err := s.Get(short.ID); CodeOf(err) != api.CodeUnknownLease {
		t.Errorf("old tombstone kept: %v", err)
	}
	if long.State() != api.LeaseExpired {
		t.Errorf("long lease at 70s: %s", long.State())
	}
	if got := rec.types(); got != "lease.created,lease.created,lease.expired,lease.expired" {
		t.Errorf("events = %s", got)
	}
}

func TestSweepRevokesWhenHolderProcessExits(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk}) // the real peer.Alive
	step := runSweeps(t, s, clk)
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := int32(child.Process.Pid)
	st, err := peer.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	holder := peer.Cred{UID: uint32(os.Getuid()), PID: pid, StartTime: st}
	l, _, err := s.Create(cred, api.CreateLeaseRequest{Bind: api.BindProcess}, Holder{Cred: holder})
	if err != nil {
		t.Fatal(err)
	}
	uidLease, _, _ := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: holder})
	step()
	if l.State() != api.LeaseActive {
		t.Fatal("revoked while the holder lives")
	}
	child.Process.Kill()
	child.Wait()
	step()
	if l.State() != api.LeaseRevoked {
		t.Fatalf("state after the holder exited = %s", l.State())
	}
	if uidLease.State() != api.LeaseActive {
		t.Errorf("a uid-bound lease was revoked with the process: %s", uidLease.State())
	}
}

func TestSweepAsksOncePerProcess(t *testing.T) {
	var calls atomic.Int32
	s := New(Config{Clock: clock.NewFake(t0), Alive: func(int32, uint64) bool { calls.Add(1); return true }})
	me := self(t)
	for range 5 {
		s.Create(cred, api.CreateLeaseRequest{Bind: api.BindProcess}, Holder{Cred: me})
	}
	s.Sweep()
	if calls.Load() != 1 {
		t.Errorf("Alive called %d times for one process", calls.Load())
	}
}

// TestConcurrentUse runs header checks against renewals, revocations and
// sweeps; run it with -race.
func TestConcurrentUse(t *testing.T) {
	clk := clock.NewFake(t0)
	s := New(Config{Clock: clk, OnEvent: func(api.Event) {}})
	me := self(t)
	type pair struct{ id, sec string }
	var leases []pair
	for range 50 {
		l, sec, _ := s.Create(cred, api.CreateLeaseRequest{}, Holder{Cred: me})
		leases = append(leases, pair{l.ID, sec.Reveal()})
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				p := leases[(i+w)%len(leases)]
				_, err := s.Authorize(p.id, p.sec, me)
				if c := CodeOf(err); err != nil && c != api.CodeLeaseRevoked && c != api.CodeLeaseExpired {
					t.Errorf("Authorize: %v", err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, p := range leases {
			switch i % 3 {
			case 0:
				s.Revoke(p.id, "test")
			case 1:
				s.Renew(p.id, "", cred)
			}
			s.Sweep()
			s.List(nil)
		}
	}()
	wg.Wait()
}
