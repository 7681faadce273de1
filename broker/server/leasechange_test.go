package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// changeSource records, for each Get, whether it ran inside LeaseChange.
type changeSource struct {
	stubSource
	mu   sync.Mutex
	in   bool
	gets []bool
}

func (s *changeSource) Get(name string) (Issuer, bool) {
	s.mu.Lock()
	s.gets = append(s.gets, s.in)
	s.mu.Unlock()
	return s.stubSource.Get(name)
}

func (s *changeSource) LeaseChange(f func() error) error {
	s.mu.Lock()
	s.in = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.in = false
		s.mu.Unlock()
	}()
	return f()
}

func (s *changeSource) take() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gets
	s.gets = nil
	return g
}

// TestLeaseChangesReadInsideLeaseChange: creating and renewing a lease
// read the credential whose limits they apply inside LeaseChange, so a
// reload cannot swap the credentials between the read and the lease
// store's change, and nothing looks the credential up outside it.
func TestLeaseChangesReadInsideLeaseChange(t *testing.T) {
	creds := &changeSource{stubSource: stubSource{
		"anthropic": {info: Description{Name: "anthropic", Hosts: []string{"api.anthropic.com"}, LeaseTTL: 15 * time.Minute}},
	}}
	pol := harnessPolicy(access.Allow{}, access.Limits{})
	clk := clock.NewFake(start)
	s := New(Config{Credentials: creds, Leases: lease.New(lease.Config{Clock: clk, Admit: pol.MayAddLease}),
		Policy: func() *access.Policy { return pol }, Logger: hclog.NewNullLogger(), Clock: clk,
		ContainerID: func(int32) string { return "" }})
	caller := peer.Cred{UID: 1001, GID: 1001, PID: 4242}
	do := func(path, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req = req.WithContext(peer.WithCred(context.Background(), caller))
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w
	}

	w := do("/v1/leases", `{"credential":"anthropic"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if got := creds.take(); !slices.Equal(got, []bool{true}) {
		t.Errorf("create: Gets inside LeaseChange %v, want [true] (one lookup, the handler's, under the lock)", got)
	}
	var created api.CreatedLease
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if w := do("/v1/leases/"+created.ID+"/renew", `{}`); w.Code != http.StatusOK {
		t.Fatalf("renew: %d %s", w.Code, w.Body)
	}
	if got := creds.take(); !slices.Equal(got, []bool{true}) {
		t.Errorf("renew: Gets inside LeaseChange %v, want [true]", got)
	}
}
