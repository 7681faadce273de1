// Package clock lets time be injected: the daemon uses the real clock, tests
// a Fake that they advance, so that fifty minutes of refresh schedule take
// milliseconds. Durations come from time.Time values that carry a monotonic
// reading, so a wall-clock jump does not move a schedule.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	// Now returns the current time (with a monotonic reading on the real clock).
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer.
type Timer interface {
	// C returns the channel the fire time is sent on.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// Real returns the system clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
