package tokens

import "time"

// Policy constants of DESIGN §5.
const (
	// TransientBase and TransientCap bound the backoff after a transient failure.
	TransientBase = time.Second
	TransientCap  = 30 * time.Second
	// PermanentBase and PermanentCap bound the slow backoff after a permanent refusal.
	PermanentBase = 30 * time.Second
	PermanentCap  = 5 * time.Minute
	// MinBackoff keeps full jitter from ever making a zero-delay retry loop.
	MinBackoff = 100 * time.Millisecond
	// InvalidateInterval is the least time between two invalidations of one credential.
	InvalidateInterval = 30 * time.Second
	// DefaultWaitForToken is how long a caller waits for an exchange by default.
	DefaultWaitForToken = 10 * time.Second
)

// RefreshAfter returns when, counted from its receipt, a token of lifetime
// l is refreshed: max(0.5·l, min(0.75·l, l − 5 min)). It is never zero for
// l > 0, so a short-lived token cannot cause a zero-delay loop.
func RefreshAfter(l time.Duration) time.Duration {
	return max(l/2, min(l*3/4, l-5*time.Minute))
}

// ServeFor returns how long, counted from its receipt, a token of lifetime
// l may be served: l − min(30 s, l/4). The refresh point always comes first.
func ServeFor(l time.Duration) time.Duration {
	return l - min(30*time.Second, l/4)
}

// Backoff returns the delay before retry number attempt (0 for the first
// retry): exponential with full jitter, uniform in [0, min(cap, base·2^attempt)),
// floored at MinBackoff. rnd(n) returns a uniform value in [0, n).
func Backoff(attempt int, base, cap time.Duration, rnd func(n int64) int64) time.Duration {
	ceil := cap
	if attempt < 32 {
		if d := base << attempt; d > 0 && d < cap {
			ceil = d
		}
	}
	return max(MinBackoff, time.Duration(rnd(int64(ceil))))
}
