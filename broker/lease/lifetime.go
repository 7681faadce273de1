package lease

import "time"

// DefaultMaxLifetime is a lease's longest life, renewals included, when
// the credential sets no lease_max_lifetime (DESIGN §5, Lease lifetime).
const DefaultMaxLifetime = 24 * time.Hour

func maxLifetime(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultMaxLifetime
	}
	return d
}

// RenewedExpiry is when a lease created at created and renewed at now for
// ttl expires: now+ttl, but never after created+lifetime. capped reports
// that the cap shortened it.
func RenewedExpiry(created, now time.Time, ttl, lifetime time.Duration) (expiry time.Time, capped bool) {
	limit := created.Add(maxLifetime(lifetime))
	expiry = now.Add(ttl)
	if expiry.After(limit) {
		return limit, true
	}
	return expiry, false
}
