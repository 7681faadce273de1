package lease

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash/maphash"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// SecretPrefix starts every lease secret, so leak scanners can find them.
const SecretPrefix = "awfl_"

// Sweep timing.
const (
	SweepInterval = 5 * time.Second
	// TombstoneTTL is how long a revoked or expired lease still answers 410.
	TombstoneTTL = time.Hour
)

const shards = 64

// Config configures the store.
type Config struct {
	Clock  clock.Clock
	Logger hclog.Logger
	// Alive reports whether a process still runs (default peer.Alive).
	Alive func(pid int32, start uint64) bool
	// OnEvent, when set, is called outside locks for every lease change.
	OnEvent func(api.Event)
}

// CredentialInfo is what the store needs to know of a credential.
type CredentialInfo struct {
	Name            string
	Hosts           []string
	MaxTTL          time.Duration
	NeedsBodySHA256 bool
}

// Store holds the leases in memory.
type Store struct {
	cfg    Config
	log    hclog.Logger
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*Lease
}

// New returns an empty store.
func New(cfg Config) *Store {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Alive == nil {
		cfg.Alive = peer.Alive
	}
	s := &Store{cfg: cfg, log: cfg.Logger.Named("lease"), seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = map[string]*Lease{}
	}
	return s
}

func (s *Store) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%shards]
}

// Create makes a lease on cred for holder; the secret is returned only here.
func (s *Store) Create(cred CredentialInfo, req api.CreateLeaseRequest, holder Holder) (*Lease, secret.Value, error) {
	ttl := cred.MaxTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			return nil, secret.Value{}, errf(http.StatusBadRequest, api.CodeBadRequest, "ttl %q is not a positive duration", req.TTL)
		}
		if d > cred.MaxTTL {
			return nil, secret.Value{}, errf(http.StatusBadRequest, api.CodeBadRequest, "ttl %s exceeds the credential's lease_ttl %s", d, cred.MaxTTL)
		}
		ttl = d
	}
	bind := req.Bind
	switch bind {
	case "":
		bind = api.BindUID
	case api.BindUID, api.BindProcess:
	default:
		return nil, secret.Value{}, errf(http.StatusBadRequest, api.CodeBadRequest, "bind must be %q or %q", api.BindUID, api.BindProcess)
	}
	if bind == api.BindProcess && holder.StartTime == 0 {
		return nil, secret.Value{}, errf(http.StatusBadRequest, api.CodeBadRequest, "bind \"process\" needs a caller whose process the broker can see")
	}
	scope, err := makeScope(cred, req)
	if err != nil {
		return nil, secret.Value{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, secret.Value{}, err
	}
	sec := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.cfg.Clock.Now()
	l := &Lease{
		ID: uuid.NewString(), Credential: cred.Name, Scope: scope, Holder: holder, Bind: bind,
		CreatedAt: now, TTL: ttl, MaxTTL: cred.MaxTTL, NeedsBodySHA256: cred.NeedsBodySHA256,
		hash: sha256.Sum256([]byte(sec)),
	}
	l.expiresAt.Store(now.Add(ttl).UnixNano())
	sh := s.shard(l.ID)
	sh.mu.Lock()
	sh.m[l.ID] = l
	sh.mu.Unlock()
	s.audit("lease created", l, "")
	s.emit(api.EventLeaseCreated, l, nil)
	return l, secret.New(sec), nil
}

func makeScope(cred CredentialInfo, req api.CreateLeaseRequest) (api.Scope, error) {
	sc := api.Scope{Hosts: cred.Hosts}
	if len(req.Hosts) > 0 {
		hosts := make([]string, len(req.Hosts))
		for i, h := range req.Hosts {
			hosts[i] = strings.ToLower(strings.TrimSpace(h))
		}
		if err := Subset(hosts, cred.Hosts); err != nil {
			return sc, err
		}
		sc.Hosts = hosts
	}
	for _, m := range req.Methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" || strings.ContainsAny(m, " /") {
			return sc, errf(http.StatusBadRequest, api.CodeBadRequest, "invalid method %q", m)
		}
		sc.Methods = append(sc.Methods, m)
	}
	for _, p := range req.PathPrefixes {
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
			return sc, errf(http.StatusBadRequest, api.CodeBadRequest, "path prefix %q must start with / and have no dot segments", p)
		}
		sc.PathPrefixes = append(sc.PathPrefixes, p)
	}
	return sc, nil
}

// Get returns the lease with id (revoked and expired ones too, for a while).
func (s *Store) Get(id string) (*Lease, error) {
	sh := s.shard(id)
	sh.mu.RLock()
	l := sh.m[id]
	sh.mu.RUnlock()
	if l == nil {
		return nil, errf(http.StatusNotFound, api.CodeUnknownLease, "no lease %s", id)
	}
	return l, nil
}

// Authorize checks a header request: the lease exists and is usable, the
// secret matches, and the caller is its holder. It counts the request.
func (s *Store) Authorize(id, presented string, caller peer.Cred) (*Lease, error) {
	l, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if !l.checkSecret(presented) {
		return nil, errf(http.StatusUnauthorized, api.CodeUnauthenticated, "wrong lease secret")
	}
	if err := l.usable(s.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	if !l.HeldBy(caller) {
		return nil, errf(http.StatusForbidden, api.CodeForbidden, "the lease is held by another process")
	}
	l.requests.Add(1)
	return l, nil
}

// Renew extends an active lease to now+ttl (ttl "" = its own TTL).
func (s *Store) Renew(id, ttl string) (*Lease, error) {
	l, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if err := l.usable(s.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	d := l.TTL
	if ttl != "" {
		if d, err = time.ParseDuration(ttl); err != nil || d <= 0 {
			return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "ttl %q is not a positive duration", ttl)
		}
		if d > l.MaxTTL {
			return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "ttl %s exceeds the credential's lease_ttl %s", d, l.MaxTTL)
		}
	}
	l.expiresAt.Store(s.cfg.Clock.Now().Add(d).UnixNano())
	s.audit("lease renewed", l, "")
	s.emit(api.EventLeaseRenewed, l, nil)
	return l, nil
}

// Revoke ends a lease; later use gets 410 lease_revoked.
func (s *Store) Revoke(id, reason string) (*Lease, error) {
	l, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if s.end(l, stateRevoked) {
		s.audit("lease revoked", l, reason)
		s.emit(api.EventLeaseRevoked, l, map[string]any{"reason": reason})
	}
	return l, nil
}

// RevokeCredential revokes every active lease on the credential and
// returns how many.
func (s *Store) RevokeCredential(name, reason string) int {
	n := 0
	for _, l := range s.all() {
		if l.Credential == name && l.state.Load() == stateActive {
			if _, err := s.Revoke(l.ID, reason); err == nil {
				n++
			}
		}
	}
	return n
}

// end moves an active lease to state; it reports whether it did.
func (s *Store) end(l *Lease, state int32) bool {
	if !l.state.CompareAndSwap(stateActive, state) {
		return false
	}
	l.endedAt.Store(s.cfg.Clock.Now().UnixNano())
	return true
}

// List returns the leases for which keep is true, oldest first.
func (s *Store) List(keep func(*Lease) bool) []api.Lease {
	out := []api.Lease{}
	for _, l := range s.all() {
		if keep == nil || keep(l) {
			out = append(out, l.API())
		}
	}
	return out
}

// Active counts the active leases.
func (s *Store) Active() int {
	n := 0
	for _, l := range s.all() {
		if l.state.Load() == stateActive {
			n++
		}
	}
	return n
}

func (s *Store) all() []*Lease {
	var out []*Lease
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, l := range sh.m {
			out = append(out, l)
		}
		sh.mu.RUnlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// Run sweeps every SweepInterval until ctx ends.
func (s *Store) Run(ctx context.Context) {
	for {
		t := s.cfg.Clock.NewTimer(SweepInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
			s.Sweep()
		}
	}
}

// Sweep expires leases past their expiry, revokes process-bound leases
// whose process has exited, and drops old tombstones.
func (s *Store) Sweep() {
	now := s.cfg.Clock.Now()
	for _, l := range s.all() {
		switch l.state.Load() {
		case stateActive:
			if now.UnixNano() >= l.expiresAt.Load() {
				if s.end(l, stateExpired) {
					s.audit("lease expired", l, "")
					s.emit(api.EventLeaseExpired, l, nil)
				}
			} else if l.Bind == api.BindProcess && !s.cfg.Alive(l.Holder.PID, l.Holder.StartTime) {
				if s.end(l, stateRevoked) {
					s.audit("lease revoked", l, "holder process exited")
					s.emit(api.EventLeaseRevoked, l, map[string]any{"reason": "holder process exited"})
				}
			}
		default:
			if now.Sub(time.Unix(0, l.endedAt.Load())) > TombstoneTTL {
				sh := s.shard(l.ID)
				sh.mu.Lock()
				delete(sh.m, l.ID)
				sh.mu.Unlock()
			}
		}
	}
}

func (s *Store) audit(msg string, l *Lease, reason string) {
	args := []any{"lease", l.ID, "credential", l.Credential, "uid", l.Holder.UID, "pid", l.Holder.PID,
		"bind", l.Bind, "expires_at", l.ExpiresAt().Format(time.RFC3339)}
	if l.Holder.Label != "" {
		args = append(args, "label", l.Holder.Label)
	}
	if reason != "" {
		args = append(args, "reason", reason)
	}
	s.log.Info(msg, args...)
}

func (s *Store) emit(typ string, l *Lease, detail map[string]any) {
	if s.cfg.OnEvent == nil {
		return
	}
	s.cfg.OnEvent(api.Event{Time: s.cfg.Clock.Now().UTC(), Type: typ, Credential: l.Credential, Lease: l.ID, Detail: detail})
}
