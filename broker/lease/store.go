package lease

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Defaults of Config's timings.
const (
	// DefaultSweepInterval is how often the sweep runs.
	DefaultSweepInterval = 5 * time.Second
	// DefaultTombstoneTTL is how long a revoked or expired lease still
	// answers 410 before it is forgotten (and answers 404).
	DefaultTombstoneTTL = time.Hour
)

// shards spreads the leases over independent locks so that no lock is
// shared by all header requests.
const shards = 64

// Config configures a Store.
type Config struct {
	Clock  clock.Clock  // default clock.Real()
	Logger hclog.Logger // default a null logger
	// Alive reports whether a process still runs (default peer.Alive).
	Alive func(pid int32, start uint64) bool
	// OnEvent, when set, is called outside locks for every lease change.
	OnEvent func(api.Event)
	// Admit, when set, answers whether holder may take one more lease
	// while it holds held active ones (the per-uid quota); its error is
	// the refusal.
	Admit func(holder peer.Cred, held int) error
	// SweepInterval and TombstoneTTL default to DefaultSweepInterval and
	// DefaultTombstoneTTL.
	SweepInterval time.Duration
	TombstoneTTL  time.Duration
}

// Ceiling is what the store needs to know of a credential.
type Ceiling struct {
	Name string
	// Hosts is the scope ceiling.
	Hosts []string
	// MaxTTL is the longest lease (the credential's lease_ttl).
	MaxTTL time.Duration
	// MaxLifetime is the longest a lease lives, renewals included (the
	// credential's lease_max_lifetime; 0: DefaultMaxLifetime).
	MaxLifetime     time.Duration
	NeedsBodySHA256 bool
}

// Store holds the leases in memory.
type Store struct {
	cfg    Config
	log    hclog.Logger
	seed   maphash.Seed
	shards [shards]shard

	// held counts each uid's active leases, for the quota.
	heldMu sync.Mutex
	held   map[uint32]int
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*Lease
}

// New returns an empty store. Call Run to sweep it.
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
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.TombstoneTTL <= 0 {
		cfg.TombstoneTTL = DefaultTombstoneTTL
	}
	s := &Store{cfg: cfg, log: cfg.Logger.Named("lease"), seed: maphash.MakeSeed(), held: map[uint32]int{}}
	for i := range s.shards {
		s.shards[i].m = map[string]*Lease{}
	}
	return s
}

func (s *Store) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%shards]
}

func (s *Store) lookup(id string) *Lease {
	sh := s.shard(id)
	sh.mu.RLock()
	l := sh.m[id]
	sh.mu.RUnlock()
	return l
}

// Get returns the lease with id; revoked and expired leases stay for the
// tombstone TTL. An unknown or malformed id is 404 unknown_lease.
func (s *Store) Get(id string) (*Lease, error) {
	if l := s.lookup(id); l != nil {
		return l, nil
	}
	return nil, errf(404, api.CodeUnknownLease, "no lease %s", clipped(id))
}

// Authorize checks a header request, the hot path: the lease exists, the
// presented secret matches (constant time), the lease is neither revoked
// nor expired (410), and the caller is its holder (access.MayUseLease: uid;
// pid and start time for a process-bound lease). It counts the request and allocates nothing
// on success.
//
// The secret is checked before the state so that only a holder of the
// secret learns whether a lease was revoked.
func (s *Store) Authorize(id, presented string, caller peer.Cred) (*Lease, error) {
	l := s.lookup(id)
	if l == nil {
		return nil, errf(404, api.CodeUnknownLease, "no lease %s", clipped(id))
	}
	if !l.checkSecret(presented) {
		return nil, errf(401, api.CodeUnauthenticated, "wrong lease secret")
	}
	if err := l.usable(s.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	if err := access.MayUseLease(caller, l.Facts()); err != nil {
		return nil, err
	}
	l.requests.Add(1)
	return l, nil
}

// List returns the wire form of the leases for which keep reports true
// (all when keep is nil), oldest first; never nil.
func (s *Store) List(keep func(*Lease) bool) []api.Lease {
	out := []api.Lease{}
	for _, l := range s.all() {
		if keep == nil || keep(l) {
			out = append(out, l.API())
		}
	}
	return out
}

// Held returns how many active leases uid holds.
func (s *Store) Held(uid uint32) int {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	return s.held[uid]
}

// Snapshot returns every active lease, oldest first.
func (s *Store) Snapshot() []*Lease {
	var out []*Lease
	for _, l := range s.all() {
		if l.state.Load() == stateActive {
			out = append(out, l)
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

// ActiveByCredential counts the active leases of each credential
// (a lease past its expiry but not yet swept still counts).
func (s *Store) ActiveByCredential() map[string]int {
	out := map[string]int{}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, l := range sh.m {
			if l.state.Load() == stateActive {
				out[l.Credential]++
			}
		}
		sh.mu.RUnlock()
	}
	return out
}

// all returns every lease, oldest first.
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
	slices.SortFunc(out, func(a, b *Lease) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}
