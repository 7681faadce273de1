package server

import (
	"net/http"
	"testing"
)

// TestRouteTable pins every route's permission: changing who may call an
// endpoint must change this list too.
func TestRouteTable(t *testing.T) {
	want := []RouteInfo{
		{"GET", "/metrics", Admin},
		{"GET", "/v1/credentials", AdminOrListFiltered},
		{"GET", "/v1/credentials/{name}", AdminOrListFiltered},
		{"POST", "/v1/credentials/{name}/refresh", Admin},
		{"GET", "/v1/events", AdminOrListFiltered},
		{"GET", "/v1/health", Anyone},
		{"DELETE", "/v1/identities/{name}", AdminOrIdentityAllowed},
		{"PUT", "/v1/identities/{name}", AdminOrIdentityAllowed},
		{"GET", "/v1/leases", AdminOrListFiltered},
		{"POST", "/v1/leases", CanLease},
		{"DELETE", "/v1/leases/{id}", AdminOrHolder},
		{"GET", "/v1/leases/{id}", AdminOrHolder},
		{"POST", "/v1/leases/{id}/headers", LeaseSecret},
		{"POST", "/v1/leases/{id}/invalidate", LeaseSecret},
		{"POST", "/v1/leases/{id}/renew", AdminOrHolder},
		{"GET", "/v1/ready", Anyone},
	}
	got := Routes()
	if len(got) != len(want) {
		t.Fatalf("%d routes, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("route %d = %v (%s), want %v (%s)", i, got[i], got[i].Permission, want[i], want[i].Permission)
		}
	}
	if s := New(Config{}); len(s.Routes()) != len(want) {
		t.Error("(*Server).Routes differs from Routes")
	}
	// Registering every pattern panics if two conflict.
	mux := http.NewServeMux()
	for _, r := range table() {
		mux.HandleFunc(r.method+" "+r.path, func(http.ResponseWriter, *http.Request) {})
	}
	for _, p := range []Permission{Anyone, Admin, AdminOrListFiltered, CanLease, AdminOrHolder, LeaseSecret, AdminOrIdentityAllowed, Permission(99)} {
		if p.String() == "" {
			t.Errorf("permission %d has no name", p)
		}
	}
}

func TestValidators(t *testing.T) {
	for s, ok := range map[string]bool{
		"3fa85f64-5717-4562-b3fc-2c963f66afa6": true, "3FA85F64-5717-4562-B3FC-2C963F66AFA6": true,
		"3fa85f6457174562b3fc2c963f66afa6": false, "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6": false,
		"3fa85f64-5717-4562-b3fc-2c963f66afag": false, "3fa85f64_5717-4562-b3fc-2c963f66afa6": false, "": false,
	} {
		if validID(s) != ok {
			t.Errorf("validID(%q) = %v", s, !ok)
		}
	}
	long := "a123456789012345678901234567890123456789012345678901234567890123"
	for s, ok := range map[string]bool{
		"anthropic": true, "azure-openai": true, "a.b_c-d": true, "0": true, long: true,
		long + "4": false, "": false, "-a": false, ".a": false, "a$b": false, "a b": false, "a/b": false, "é": false,
	} {
		if validName(s) != ok {
			t.Errorf("validName(%q) = %v", s, !ok)
		}
	}
	for h, want := range map[string]string{
		"Bearer awfl_x": "awfl_x", "bearer awfl_x": "awfl_x", "BEARER   awfl_x ": "awfl_x",
		"Basic dXNlcg==": "", "Bearer": "", "Bearer ": "", "Bearer a b": "", "awfl_x": "",
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		if got, ok := bearer(r); got != want && ok || !ok && want != "" {
			t.Errorf("bearer(%q) = %q %v, want %q", h, got, ok, want)
		}
	}
}
