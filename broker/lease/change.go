package lease

import (
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// Renew extends an active lease to now+ttl, ttl being a Go duration string
// of at most the credential's lease_ttl as it is now ("" = the lease's own
// TTL, within that), and never past created_at + the credential's
// lease_max_lifetime: a renewal that would go past it is shortened to it,
// and capped reports so. A revoked or expired lease answers 410.
func (s *Store) Renew(id, ttl string, cred Ceiling) (l *Lease, capped bool, err error) {
	l, err = s.Get(id)
	if err != nil {
		return nil, false, err
	}
	now := s.cfg.Clock.Now()
	if err := l.usable(now); err != nil {
		// Past its expiry but not yet swept: record it now.
		if CodeOf(err) == api.CodeLeaseExpired {
			s.end(l, stateExpired, api.EventLeaseExpired, "")
		}
		return nil, false, err
	}
	d, err := parseTTL(ttl, min(l.TTL, cred.MaxTTL), cred.MaxTTL)
	if err != nil {
		return nil, false, err
	}
	exp, capped := RenewedExpiry(l.CreatedAt, now, d, cred.MaxLifetime)
	l.setExpiry(exp)
	reason := ""
	if capped {
		reason = reasonLifetime
	}
	s.changed(l, api.EventLeaseRenewed, reason)
	return l, capped, nil
}

// reasonLifetime marks a renewal the lease's maximum lifetime shortened.
const reasonLifetime = "capped at the credential's lease_max_lifetime"

// Shorten moves an active lease's expiry earlier, to until (never later:
// a lease already ending sooner keeps its expiry), announcing it as a
// lease.renewed event with the reason. It reports whether it changed it.
func (s *Store) Shorten(id string, until time.Time, reason string) bool {
	l := s.lookup(id)
	if l == nil || l.state.Load() != stateActive {
		return false
	}
	if !until.Before(l.CreatedAt.Add(time.Duration(l.expiresAfter.Load()))) {
		return false
	}
	l.setExpiry(until)
	s.changed(l, api.EventLeaseRenewed, reason)
	return true
}

// Revoke ends a lease: later use gets 410 lease_revoked. Revoking a lease
// that has already ended changes nothing and returns it as it is.
func (s *Store) Revoke(id, reason string) (*Lease, error) {
	l, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	s.end(l, stateRevoked, api.EventLeaseRevoked, reason)
	return l, nil
}

// RevokeCredential revokes every active lease on the credential (a reload
// removed it, or its identity binding changed) and returns how many.
func (s *Store) RevokeCredential(name, reason string) int {
	n := 0
	for _, l := range s.all() {
		if l.Credential == name && s.end(l, stateRevoked, api.EventLeaseRevoked, reason) {
			n++
		}
	}
	return n
}

// end moves an active lease to state, logs and announces it; it reports
// whether it did (false: the lease had already ended).
func (s *Store) end(l *Lease, state int32, event, reason string) bool {
	if !l.state.CompareAndSwap(stateActive, state) {
		return false
	}
	s.release(l.Holder.UID)
	l.endedAt.Store(s.cfg.Clock.Now().UnixNano())
	s.changed(l, event, reason)
	return true
}

// changed writes the audit line of a lease change and emits its event.
func (s *Store) changed(l *Lease, event, reason string) {
	args := []any{"lease", l.ID, "credential", l.Credential, "uid", l.Holder.UID, "pid", l.Holder.PID,
		"bind", l.Bind, "expires_at", l.ExpiresAt().Format(time.RFC3339)}
	if l.Holder.Label != "" {
		args = append(args, "label", l.Holder.Label)
	}
	if l.Holder.Container != "" {
		args = append(args, "container", l.Holder.Container)
	}
	if reason != "" {
		args = append(args, "reason", reason)
	}
	s.log.Info(auditMessage(event), args...)
	if s.cfg.OnEvent == nil {
		return
	}
	detail := map[string]any{"uid": l.Holder.UID, "expires_at": l.ExpiresAt().Format(time.RFC3339)}
	if reason != "" {
		detail["reason"] = reason
	}
	h := l.API().Holder
	s.cfg.OnEvent(api.Event{Time: s.cfg.Clock.Now().UTC(), Type: event, Credential: l.Credential, Lease: l.ID, Holder: &h, Detail: detail})
}

func auditMessage(event string) string {
	switch event {
	case api.EventLeaseCreated:
		return "lease created"
	case api.EventLeaseRenewed:
		return "lease renewed"
	case api.EventLeaseRevoked:
		return "lease revoked"
	default:
		return "lease expired"
	}
}
