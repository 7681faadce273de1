package lease

import (
	"time"

	"github.com/google/uuid"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// Create makes a lease on cred for holder, as req asks: scope within the
// credential's hosts, TTL within its MaxTTL (empty: MaxTTL), bind "uid"
// (default) or "process" (which needs a holder whose process the broker
// can see). The secret is returned only here; the store keeps its SHA-256.
// Refusals are *Error (400 bad_request, 403 scope_violation) or the access
// policy's *api.Problem (400 process_not_visible, 429 quota_exceeded).
func (s *Store) Create(cred Ceiling, req api.CreateLeaseRequest, holder Holder) (*Lease, secret.Value, error) {
	ttl, err := parseTTL(req.TTL, cred.MaxTTL, cred.MaxTTL)
	if err != nil {
		return nil, secret.Value{}, err
	}
	ttl = min(ttl, maxLifetime(cred.MaxLifetime))
	bind := req.Bind
	switch bind {
	case "":
		bind = api.BindUID
	case api.BindUID, api.BindProcess:
	default:
		return nil, secret.Value{}, errf(400, api.CodeBadRequest, "bind must be %q or %q", api.BindUID, api.BindProcess)
	}
	if bind == api.BindProcess {
		if err := access.MayBindProcess(holder.Cred); err != nil {
			return nil, secret.Value{}, err // *api.Problem: 400 process_not_visible
		}
	}
	if err := validLabel(req.Label); err != nil {
		return nil, secret.Value{}, err
	}
	holder.Label = req.Label
	scope, err := makeScope(cred, req)
	if err != nil {
		return nil, secret.Value{}, err
	}
	sec, hash, err := newSecret()
	if err != nil {
		return nil, secret.Value{}, err
	}
	now := s.cfg.Clock.Now()
	l := &Lease{
		ID: uuid.NewString(), Credential: cred.Name, Scope: scope, Holder: holder, Bind: bind,
		CreatedAt: now, TTL: ttl, MaxTTL: cred.MaxTTL, NeedsBodySHA256: cred.NeedsBodySHA256,
		hash: hash,
	}
	l.setExpiry(now.Add(ttl))
	if err := s.admit(holder.Cred); err != nil {
		return nil, secret.Value{}, err
	}
	sh := s.shard(l.ID)
	sh.mu.Lock()
	sh.m[l.ID] = l
	sh.mu.Unlock()
	s.changed(l, api.EventLeaseCreated, "")
	return l, sec, nil
}

// parseTTL parses a Go duration string: empty means def; otherwise it must
// be positive and at most max.
func parseTTL(s string, def, max time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errf(400, api.CodeBadRequest, "ttl %q is not a positive duration such as \"10m\"", clipped(s))
	}
	if d > max {
		return 0, errf(400, api.CodeBadRequest, "ttl %s exceeds the credential's lease_ttl %s", d, max)
	}
	return d, nil
}

// admit counts one more active lease for holder's uid, unless the quota
// refuses it.
func (s *Store) admit(holder peer.Cred) error {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	if s.cfg.Admit != nil {
		if err := s.cfg.Admit(holder, s.held[holder.UID]); err != nil {
			return err // an *api.Problem: 429 with Retry-After
		}
	}
	s.held[holder.UID]++
	return nil
}

// release uncounts an active lease that ended.
func (s *Store) release(uid uint32) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	if s.held[uid]--; s.held[uid] <= 0 {
		delete(s.held, uid)
	}
}
