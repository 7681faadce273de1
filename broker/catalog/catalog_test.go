package catalog

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/server"
)

// TestSetSnapshot: All lists by name, Get finds what the snapshot holds,
// and a stored snapshot replaces the whole set at once.
func TestSetSnapshot(t *testing.T) {
	var s Set
	s.Store(NewSnapshot(map[string]*Entry{
		"b": {info: server.Description{Name: "b"}},
		"a": {info: server.Description{Name: "a"}},
	}))
	var names []string
	for _, c := range s.All() {
		names = append(names, c.Info().Name)
	}
	if len(names) != 2 || names[0] != "a" || names[1] != "b" {
		t.Errorf("All = %v, want [a b]", names)
	}
	if _, ok := s.Get("c"); ok {
		t.Error("Get found a credential the snapshot does not hold")
	}
	s.Store(NewSnapshot(map[string]*Entry{"c": {info: server.Description{Name: "c"}}}))
	if _, ok := s.Get("a"); ok || len(s.All()) != 1 {
		t.Error("the old snapshot is still visible")
	}
}

// TestIdentitiesUnknown: registering or clearing an identity that jobs
// cannot register (none, or a file identity) answers 404 unknown_identity.
func TestIdentitiesUnknown(t *testing.T) {
	var mu sync.Mutex
	creds := &Set{}
	creds.Store(NewSnapshot(map[string]*Entry{}))
	ids := NewIdentities(IdentitiesConfig{Mu: &mu, Credentials: creds, Leases: lease.New(lease.Config{}),
		Announce: func(string, api.Identity) { t.Error("announced a change that did not happen") }})
	ids.Store(map[string]*IdentityEntry{"projected": {Fingerprint: "f"}})
	for _, name := range []string{"nosuch", "projected"} {
		_, err := ids.Register(context.Background(), name, api.IdentityRegistration{RequestURL: "https://x", RequestToken: "t"})
		var p *api.Problem
		if !errors.As(err, &p) || p.Status != 404 || p.Code != api.CodeUnknownIdentity {
			t.Errorf("register %s: %v, want 404 unknown_identity", name, err)
		}
		if _, err := ids.Clear(context.Background(), name); !errors.As(err, &p) || p.Code != api.CodeUnknownIdentity {
			t.Errorf("clear %s: %v", name, err)
		}
	}
}
