package catalog

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/awf-broker/awf-broker/broker/server"
)

// Set is the credentials the server serves (a server.CredentialSource). A
// reload swaps the whole snapshot at once, so lookups on the header path
// take no lock and always see one consistent config.
//
// A lease change that reads a credential's limits (a renewal, a creation)
// could still read the old snapshot and apply it after the reload has
// re-checked the leases against the new one, and so outlive the new
// config (DESIGN §5, Lease lifetime). LeaseChange and Swap order the two:
// a change runs wholly before a swap's re-check, which then sees it, or
// wholly after the swap, reading the new snapshot.
type Set struct {
	cur atomic.Pointer[Snapshot]
	// changes is held for reading by LeaseChange and for writing by Swap.
	changes sync.RWMutex
}

// Snapshot is one immutable set of credentials.
type Snapshot struct {
	// ByName holds the entries; never modified once stored.
	ByName map[string]*Entry
	sorted []server.Issuer
}

// NewSnapshot returns the snapshot of m.
func NewSnapshot(m map[string]*Entry) *Snapshot {
	return &Snapshot{ByName: m, sorted: sorted(m)}
}

// Load returns the current snapshot.
func (s *Set) Load() *Snapshot { return s.cur.Load() }

// Store makes snap the current snapshot. Once the set serves, a reload
// stores inside Exclusive, after ending the leases the new config does not
// allow.
func (s *Set) Store(snap *Snapshot) { s.cur.Store(snap) }

// Exclusive runs f with no LeaseChange running: a change that began
// before has finished, and none begins until f returns. A reload ends the
// leases its new config does not allow and swaps the snapshot in it, and
// an identity's new registration revokes the old job's leases and
// installs the new job in it, so that no lease created or renewed under
// the old config or job outlives them. f must not call LeaseChange.
func (s *Set) Exclusive(f func()) {
	s.changes.Lock()
	defer s.changes.Unlock()
	f()
}

// LeaseChange runs f, which reads credentials (Get) and changes a lease by
// what it read, so that no Swap comes between the read and the change. f
// must not block on anything but the lease store.
func (s *Set) LeaseChange(f func() error) error {
	s.changes.RLock()
	defer s.changes.RUnlock()
	return f()
}

// Get returns the named credential.
func (s *Set) Get(name string) (server.Issuer, bool) {
	c, ok := s.cur.Load().ByName[name]
	if !ok {
		return nil, false
	}
	return c, true
}

// All returns every credential, sorted by name.
func (s *Set) All() []server.Issuer { return s.cur.Load().sorted }

func sorted(m map[string]*Entry) []server.Issuer {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]server.Issuer, len(names))
	for i, n := range names {
		out[i] = m[n]
	}
	return out
}
