package tokens

import (
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/awf-broker/awf-broker/broker/clock"
)

// jumpClock is the real clock whose wall reading can be moved, as
// settimeofday or an NTP step moves CLOCK_REALTIME, while its monotonic
// reading runs on untouched. Timers are real (monotonic) timers.
type jumpClock struct {
	offset atomic.Int64 // seconds added to the wall reading
}

func (c *jumpClock) Now() time.Time { return shiftWall(time.Now(), c.offset.Load()) }

func (c *jumpClock) NewTimer(d time.Duration) clock.Timer { return clock.Real().NewTimer(d) }

// shiftWall moves t's wall reading by sec seconds and keeps its monotonic
// reading. It relies on time.Time's layout (wall uint64, ext int64, loc):
// with the monotonic bit set, bits 30–62 of wall hold the seconds. The
// test checks that the result behaves so before trusting it.
func shiftWall(t time.Time, sec int64) time.Time {
	type layout struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	p := (*layout)(unsafe.Pointer(&t))
	const hasMonotonic = 1 << 63
	if p.wall&hasMonotonic == 0 {
		panic("shiftWall: no monotonic reading")
	}
	p.wall = uint64(int64(p.wall) + sec<<30)
	return t
}

// TestWallClockJump: the refresh schedule and the serving cut-off are
// durations on the monotonic clock. A wall clock stepped an hour ahead
// neither expires the token nor starts a refresh early; stepped two hours
// back, it does not delay the refresh.
func TestWallClockJump(t *testing.T) {
	now := time.Now()
	if j := shiftWall(now, 3600); j.Sub(now) != 0 || j.Round(0).Sub(now.Round(0)) != time.Hour {
		t.Fatalf("shiftWall does not model a wall-clock step on this Go version (%v, %v)", j.Sub(now), j.Round(0).Sub(now.Round(0)))
	}
	jc := &jumpClock{}
	ex := newScripted(step{lifetime: 4 * time.Second}) // refresh at 2 s, serve until 3 s
	h := start(t, ex, func(c *Config) { c.Clock = jc })
	h.waitExchange(1)
	first, err := h.token()
	if err != nil {
		t.Fatal(err)
	}
	received := time.Now()

	jc.offset.Store(3600)
	h.cred.wake() // let Run look at its schedule at the new wall time
	e, err := h.token()
	if err != nil || e != first {
		t.Fatalf("an hour's wall-clock jump ahead changed the served token: %v, %v", e, err)
	}
	if st := h.cred.Status(); st.State != StateReady || ex.Calls() != 1 {
		t.Fatalf("after the jump ahead: state %s, %d exchanges; want ready, 1", st.State, ex.Calls())
	}

	jc.offset.Store(-3600)
	h.cred.wake()
	h.waitExchange(2) // 10 s bound in real time; due 2 s after receipt
	if took := time.Since(received); took > 8*time.Second {
		t.Errorf("refresh came %v after receipt, want about 2 s", took)
	}
	e, err = h.token()
	if err != nil || e == first {
		t.Fatalf("after the jump back: %v, %v; want the refreshed token", e, err)
	}
}
