package fake

import (
	"math/rand/v2"
	"time"
)

// Mint records one token the fake issued, without its value: when it was
// minted and for how long, so a load test can tell whether some token was
// still valid at a given moment.
type Mint struct {
	At       time.Time
	Lifetime time.Duration
}

// rateFault answers a fraction of requests with a fault.
type rateFault struct {
	fault Fault
	p     float64
	hits  int
}

// take reports whether this request draws the fault.
func (r *rateFault) take() (Fault, bool) {
	if r.fault == FaultNone || r.p <= 0 || rand.Float64() >= r.p {
		return FaultNone, false
	}
	r.hits++
	return r.fault, true
}

// FailRate makes each request answer with f with probability p (0 < p ≤ 1)
// until Reset or FailRate(FaultNone, 0). A fault set by Fail takes
// precedence while it lasts.
func (a *Anthropic) FailRate(f Fault, p float64) {
	a.mu.Lock()
	a.rate = rateFault{fault: f, p: p}
	a.mu.Unlock()
}

// RateFaults counts the requests FailRate failed.
func (a *Anthropic) RateFaults() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate.hits
}

// Minted returns when each token was minted and its lifetime, oldest first.
func (a *Anthropic) Minted() []Mint {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Mint(nil), a.minted...)
}

// ValidAt reports whether a token minted here was still valid at at,
// counting it valid until its mint time plus lifetime minus margin(lifetime).
func (a *Anthropic) ValidAt(at time.Time, margin func(time.Duration) time.Duration) bool {
	for _, m := range a.Minted() {
		if !at.Before(m.At) && at.Before(m.At.Add(m.Lifetime-margin(m.Lifetime))) {
			return true
		}
	}
	return false
}
