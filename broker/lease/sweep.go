package lease

import (
	"context"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// reasonProcessExited is the revocation reason of a process-bound lease
// whose holder has exited.
const reasonProcessExited = "holder process exited"

// Run sweeps the store every SweepInterval (on the injected clock) until
// ctx ends.
func (s *Store) Run(ctx context.Context) {
	for {
		t := s.cfg.Clock.NewTimer(s.cfg.SweepInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
			s.Sweep()
		}
	}
}

// Sweep expires leases past their expiry, revokes process-bound leases
// whose process has exited (or whose pid now belongs to another process),
// and forgets leases that ended more than TombstoneTTL ago.
func (s *Store) Sweep() {
	now := s.cfg.Clock.Now()
	type proc struct {
		pid   int32
		start uint64
	}
	alive := map[proc]bool{} // one /proc read per process per sweep
	for _, l := range s.all() {
		switch l.state.Load() {
		case stateActive:
			if l.expired(now) {
				s.end(l, stateExpired, api.EventLeaseExpired, "")
				continue
			}
			if l.Bind != api.BindProcess {
				continue
			}
			p := proc{l.Holder.PID, l.Holder.StartTime}
			ok, seen := alive[p]
			if !seen {
				ok = s.cfg.Alive(p.pid, p.start)
				alive[p] = ok
			}
			if !ok {
				s.end(l, stateRevoked, api.EventLeaseRevoked, reasonProcessExited)
			}
		default:
			if now.Sub(time.Unix(0, l.endedAt.Load())) >= s.cfg.TombstoneTTL {
				sh := s.shard(l.ID)
				sh.mu.Lock()
				delete(sh.m, l.ID)
				sh.mu.Unlock()
			}
		}
	}
}
