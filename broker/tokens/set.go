package tokens

import (
	"sort"
	"sync/atomic"
)

// Set holds credentials by name. Lookups take no lock: the map is
// immutable and replaced whole on reload.
type Set struct {
	m atomic.Pointer[map[string]*Credential]
}

// NewSet returns a set of the credentials.
func NewSet(creds ...*Credential) *Set {
	s := &Set{}
	s.Replace(creds...)
	return s
}

// Get returns the credential named name.
func (s *Set) Get(name string) (*Credential, bool) {
	c, ok := (*s.m.Load())[name]
	return c, ok
}

// All returns every credential, sorted by name.
func (s *Set) All() []*Credential {
	m := *s.m.Load()
	out := make([]*Credential, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Name < out[j].cfg.Name })
	return out
}

// Replace swaps the set's contents for creds.
func (s *Set) Replace(creds ...*Credential) {
	m := make(map[string]*Credential, len(creds))
	for _, c := range creds {
		m[c.cfg.Name] = c
	}
	s.m.Store(&m)
}
