package server

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestGrantIDRoutesAsTheMux: a request the hot route takes (grantID) is
// one the mux routes to the grant's handler with the same {id}; the
// canonical form forwarders send is taken; anything else is left to the
// mux.
func TestGrantIDRoutesAsTheMux(t *testing.T) {
	if !slices.ContainsFunc(table(), func(r route) bool { return r.method == http.MethodPost && r.path == grantPath }) {
		t.Fatalf("the route table has no POST %s", grantPath)
	}
	ref := http.NewServeMux()
	var routed, id string
	ref.HandleFunc("POST "+grantPath, func(_ http.ResponseWriter, r *http.Request) { routed, id = r.Pattern, r.PathValue("id") })
	ref.HandleFunc("/", func(http.ResponseWriter, *http.Request) { routed, id = "other", "" })
	const uuid = "0b7c5f3e-2a41-4c8e-9d3f-6e1a2b3c4d5e"
	for _, tc := range []struct {
		method, target string
		taken          bool
	}{
		{"POST", "/v1/leases/" + uuid + "/headers", true},
		{"POST", "http://unix/v1/leases/" + uuid + "/headers", true},
		{"POST", "/v1/leases/0B7C5F3E-2A41-4C8E-9D3F-6E1A2B3C4D5E/headers", true},
		{"POST", "/v1/leases/" + uuid + "/headers?x=1", true},
		{"GET", "/v1/leases/" + uuid + "/headers", false},
		{"HEAD", "/v1/leases/" + uuid + "/headers", false},
		{"POST", "/v1/leases/" + uuid + "/headers/", false},
		{"POST", "/v1/leases/" + uuid + "/invalidate", false},
		{"POST", "/v1/leases//" + uuid[1:] + "/headers", false},
		{"POST", "/v1/leases/" + uuid[:35] + "%67/headers", false},
		{"POST", "/v1/leases/" + uuid[:35] + "g/headers", false},
		{"POST", "/v1/leases/..%2f" + uuid[4:] + "/headers", false},
		{"POST", "/v1//leases/" + uuid + "/headers", false},
		{"POST", "/v1/leases/" + uuid + "/./headers", false},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		gotID, taken := grantID(r)
		if taken != tc.taken {
			t.Errorf("%s %s: taken = %t, want %t", tc.method, tc.target, taken, tc.taken)
			continue
		}
		if !taken {
			continue
		}
		routed, id = "", ""
		ref.ServeHTTP(httptest.NewRecorder(), r)
		if routed != "POST "+grantPath || id != gotID {
			t.Errorf("%s %s: hot route takes it with id %q, the mux routes it to %q with id %q", tc.method, tc.target, gotID, routed, id)
		}
	}
}
