package tokens

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Set holds credentials by name. It is read-mostly: Get takes no lock
// (the contents are an immutable snapshot, replaced whole by Add, Remove
// and Replace). The zero Set is empty and ready to use.
type Set struct {
	mu   sync.Mutex // serializes writers
	snap atomic.Pointer[setSnapshot]
}

type setSnapshot struct {
	byName map[string]*Credential
	sorted []*Credential
}

// NewSet returns a set of creds.
func NewSet(creds ...*Credential) *Set {
	s := &Set{}
	s.Replace(creds...)
	return s
}

// Get returns the credential named name.
func (s *Set) Get(name string) (*Credential, bool) {
	snap := s.snap.Load()
	if snap == nil {
		return nil, false
	}
	c, ok := snap.byName[name]
	return c, ok
}

// All returns every credential, sorted by name.
func (s *Set) All() []*Credential {
	snap := s.snap.Load()
	if snap == nil {
		return nil
	}
	return slices.Clone(snap.sorted)
}

// Len returns the number of credentials.
func (s *Set) Len() int {
	snap := s.snap.Load()
	if snap == nil {
		return 0
	}
	return len(snap.sorted)
}

// Add adds creds, replacing any of the same name.
func (s *Set) Add(creds ...*Credential) {
	s.update(func(m map[string]*Credential) {
		for _, c := range creds {
			m[c.Name()] = c
		}
	})
}

// Remove removes the credentials named names, if present.
func (s *Set) Remove(names ...string) {
	s.update(func(m map[string]*Credential) {
		for _, n := range names {
			delete(m, n)
		}
	})
}

// Replace swaps the set's contents for creds.
func (s *Set) Replace(creds ...*Credential) {
	s.update(func(m map[string]*Credential) {
		clear(m)
		for _, c := range creds {
			m[c.Name()] = c
		}
	})
}

// update publishes a copy of the contents changed by edit.
func (s *Set) update(edit func(map[string]*Credential)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]*Credential{}
	if old := s.snap.Load(); old != nil {
		for k, v := range old.byName {
			m[k] = v
		}
	}
	edit(m)
	sorted := make([]*Credential, 0, len(m))
	for _, c := range m {
		sorted = append(sorted, c)
	}
	slices.SortFunc(sorted, func(a, b *Credential) int { return strings.Compare(a.Name(), b.Name()) })
	s.snap.Store(&setSnapshot{byName: m, sorted: sorted})
}
