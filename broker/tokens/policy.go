package tokens

import (
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// Policy constants of DESIGN §5.
const (
	// TransientBase and TransientCap bound the backoff after a transient failure.
	TransientBase = time.Second
	TransientCap  = 30 * time.Second
	// PermanentBase and PermanentCap bound the slow backoff after a permanent refusal.
	PermanentBase = 30 * time.Second
	PermanentCap  = 5 * time.Minute
	// MinBackoff is the least delay between two exchanges the scheduler
	// starts on its own: full jitter may draw zero, and an absurdly short
	// lifetime may ask for a refresh at once; neither may make a tight loop.
	MinBackoff = 100 * time.Millisecond
	// MaxRetryAfter bounds an upstream's Retry-After, so that a garbled
	// header cannot park a credential for days (Refresh still overrides it).
	MaxRetryAfter = time.Hour
	// InvalidateInterval is the least time between two invalidations of one credential.
	InvalidateInterval = 30 * time.Second
	// DefaultWaitForToken is how long a caller waits for an exchange by default.
	DefaultWaitForToken = 10 * time.Second
	// ExchangeSpacing is the least time between the end of one exchange of
	// a credential and the start of the next that the broker starts on its
	// own or for a waiting caller, whatever lifetime or error the upstream
	// returned (DESIGN §5): a 1 s token must not become an exchange loop.
	// An admin's forced refresh and an identity change (Purge) are exempt.
	ExchangeSpacing = 5 * time.Second
	// MinLifetime is the shortest lifetime a token is taken to have,
	// whatever the upstream stated (provider.MaxTokenLifetime the longest).
	MinLifetime = time.Second
	// ShortLifetime: a token living less than this is reported as a
	// warning (the credential will be exchanged every few minutes, and
	// callers may meet an expired token between exchanges).
	ShortLifetime = 2 * time.Minute
)

// ClampLifetime returns the lifetime a token stated as l is taken to have:
// l within [MinLifetime, provider.MaxTokenLifetime]. It is the one clamp:
// providers report what their upstream stated. Zero (the token never
// expires) and negative lifetimes (refused by the exchange) are returned
// unchanged.
func ClampLifetime(l time.Duration) time.Duration {
	if l <= 0 {
		return l
	}
	return min(max(l, MinLifetime), provider.MaxTokenLifetime)
}

// NextExchange returns when an exchange due at due may start, the last one
// having ended at last (zero: none yet): not before last + ExchangeSpacing.
func NextExchange(due, last time.Time) time.Time {
	if last.IsZero() {
		return due
	}
	if earliest := last.Add(ExchangeSpacing); due.Before(earliest) {
		return earliest
	}
	return due
}

// RefreshAfter returns when, counted from its receipt, a token of lifetime
// l is refreshed: max(0.5·l, min(0.75·l, l − 5 min)), floored at MinBackoff
// so that it is never zero for l > 0. For l ≥ 1 s it comes before
// ServeUntil(l), so every token has a window in which to be replaced.
func RefreshAfter(l time.Duration) time.Duration {
	return max(MinBackoff, l/2, min(l*3/4, l-5*time.Minute))
}

// ServeUntil returns how long, counted from its receipt, a token of
// lifetime l may be served: l − min(30 s, l/4). It is never served after.
func ServeUntil(l time.Duration) time.Duration {
	return l - min(30*time.Second, l/4)
}

// Backoff returns the delay before retry number attempt (0 for the first
// retry): exponential with full jitter, uniform in [0, min(cap, base·2^attempt)),
// floored at MinBackoff. rnd(n) returns a uniform value in [0, n).
func Backoff(attempt int, base, cap time.Duration, rnd func(n int64) int64) time.Duration {
	attempt = max(attempt, 0)
	ceil := cap
	if d := base << min(attempt, 62); d>>min(attempt, 62) == base && d < cap {
		ceil = d // base·2^attempt did not overflow and is below the cap
	}
	if ceil <= 0 {
		return MinBackoff
	}
	return max(MinBackoff, time.Duration(rnd(int64(ceil))))
}

// RetryDelay returns how long to wait after failure number attempt (0 for
// the first) before exchanging again: Backoff on the transient schedule, or
// on the slow one when the upstream refused permanently, but never less
// than the upstream's Retry-After (itself bounded by MaxRetryAfter).
func RetryDelay(attempt int, permanent bool, retryAfter time.Duration, rnd func(n int64) int64) time.Duration {
	base, ceil := TransientBase, TransientCap
	if permanent {
		base, ceil = PermanentBase, PermanentCap
	}
	return max(Backoff(attempt, base, ceil, rnd), min(retryAfter, MaxRetryAfter))
}

// retryHint is the Retry-After to give a caller refused at now when the
// next exchange is due at next (zero: unknown or in flight): at least 1 s,
// the granularity of the header.
func retryHint(now, next time.Time) time.Duration {
	if next.IsZero() {
		return time.Second
	}
	return max(time.Second, next.Sub(now))
}

// stateOf derives the state operators see from the credential's facts.
// A permanent refusal is failed even while a token would still be valid:
// the upstream said no, so nothing is served (fail closed, DESIGN §5). A
// transiently failing refresh shows as degraded while the old token still
// serves, even during the retry itself, so the state does not flicker.
func stateOf(servable, hasToken, inflight, failing, permanent bool) State {
	switch {
	case permanent:
		return StateFailed
	case servable && failing:
		return StateDegraded
	case servable && inflight:
		return StateRefreshing
	case servable:
		return StateReady
	case hasToken:
		return StateExpired
	default:
		return StatePending
	}
}
