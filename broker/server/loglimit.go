package server

import (
	"sync"
	"time"
)

// Refusal log limits: each caller (uid) and refusal code gets at most
// refusalBurst info lines per refusalWindow; the next line allowed after
// that says how many were suppressed. A caller hammering the socket with a
// wrong secret cannot flood the log, and the audit trail still shows it.
const (
	refusalWindow  = time.Minute
	refusalBurst   = 10
	refusalMaxKeys = 1024
)

// logBucket counts one key's lines in its current window.
type logBucket struct {
	start      time.Time // zero: no window yet
	logged     int
	suppressed int
}

// admitLine decides whether one more line of a key whose bucket is b may
// be written at now, at most burst per window. It returns the new bucket
// and, when the line may be written, how many lines were suppressed
// before it (then forgotten).
func admitLine(b logBucket, now time.Time, window time.Duration, burst int) (next logBucket, ok bool, suppressed int) {
	if b.start.IsZero() || now.Sub(b.start) >= window || now.Before(b.start) {
		// A new window; the suppressed count of the last carries over to
		// this first line.
		return logBucket{start: now, logged: 1}, true, b.suppressed
	}
	if b.logged < burst {
		b.logged++
		s := b.suppressed
		b.suppressed = 0
		return b, true, s
	}
	b.suppressed++
	return b, false, 0
}

// refusalKey is what a refusal line is limited by.
type refusalKey struct {
	uid  uint32
	code string
}

// logLimiter applies admitLine per key. Its map is bounded: past
// refusalMaxKeys keys, buckets whose window has ended are dropped, and if
// none has, further keys share one bucket.
type logLimiter struct {
	mu      sync.Mutex
	buckets map[refusalKey]logBucket
}

func newLogLimiter() *logLimiter { return &logLimiter{buckets: map[refusalKey]logBucket{}} }

// allow reports whether a refusal line for k may be written at now, and
// how many were suppressed before it.
func (l *logLimiter) allow(k refusalKey, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.buckets[k]; !ok && len(l.buckets) >= refusalMaxKeys {
		for key, b := range l.buckets {
			if now.Sub(b.start) >= refusalWindow && b.suppressed == 0 {
				delete(l.buckets, key)
			}
		}
		if len(l.buckets) >= refusalMaxKeys {
			k = refusalKey{code: "*"}
		}
	}
	b, ok, suppressed := admitLine(l.buckets[k], now, refusalWindow, refusalBurst)
	l.buckets[k] = b
	return ok, suppressed
}
