package server

import (
	"testing"
	"time"
)

var llT0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// TestAdmitLine: at most burst lines per window; the first line after a
// suppressed run carries its count; a new window starts afresh; a clock
// that went back starts a new window rather than suppressing forever.
func TestAdmitLine(t *testing.T) {
	const w, burst = time.Minute, 3
	steps := []struct {
		name           string
		at             time.Duration
		ok             bool
		suppressedSeen int
	}{
		{"first", 0, true, 0},
		{"second", time.Second, true, 0},
		{"third, the burst", 2 * time.Second, true, 0},
		{"fourth suppressed", 3 * time.Second, false, 0},
		{"fifth suppressed", 59 * time.Second, false, 0},
		{"new window reports two suppressed", time.Minute, true, 2},
		{"then counts afresh", time.Minute + time.Second, true, 0},
		{"clock went back: a new window", 30 * time.Second, true, 0},
	}
	var b logBucket
	for _, s := range steps {
		var ok bool
		var n int
		b, ok, n = admitLine(b, llT0.Add(s.at), w, burst)
		if ok != s.ok || n != s.suppressedSeen {
			t.Errorf("%s: admitLine = ok %v, suppressed %d; want %v, %d", s.name, ok, n, s.ok, s.suppressedSeen)
		}
	}
}

// TestLogLimiterKeys: keys are limited apart, and the map stays bounded
// when a caller invents codes (or uids) without end.
func TestLogLimiterKeys(t *testing.T) {
	l := newLogLimiter()
	a, b := refusalKey{uid: 1001, code: "forbidden"}, refusalKey{uid: 1002, code: "forbidden"}
	for i := range refusalBurst {
		if ok, _ := l.allow(a, llT0); !ok {
			t.Fatalf("line %d of a refused", i+1)
		}
	}
	if ok, _ := l.allow(a, llT0); ok {
		t.Fatal("a's line past the burst was allowed")
	}
	if ok, _ := l.allow(b, llT0); !ok {
		t.Fatal("b was limited by a's lines")
	}
	for i := range 3 * refusalMaxKeys {
		l.allow(refusalKey{uid: uint32(2000 + i), code: "unauthenticated"}, llT0)
	}
	if n := len(l.buckets); n > refusalMaxKeys+1 {
		t.Fatalf("%d buckets, want at most %d", n, refusalMaxKeys+1)
	}
	ok, suppressed := l.allow(a, llT0.Add(refusalWindow))
	if !ok || suppressed != 1 {
		t.Fatalf("a in the next window: ok %v, suppressed %d; want true, 1", ok, suppressed)
	}
}
