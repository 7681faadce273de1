package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// Permission is what a caller must be to call a route. The wrapper
// enforces it before the handler runs (authorize.go).
type Permission int

// Permissions.
const (
	// Anyone may call, even a caller the broker could not identify.
	Anyone Permission = iota
	// Admin only; {name} must be a known credential.
	Admin
	// AdminOrListFiltered: any identified caller; a list shows a
	// non-admin only what it may lease or holds, and a {name} it may not
	// see answers 404.
	AdminOrListFiltered
	// CanLease: an admin or a caller in the allow of the credential the
	// body names. The wrapper decodes and checks the body; the handler
	// decides inside LeaseChange, against the config the lease is made
	// under.
	CanLease
	// AdminOrHolder: an admin or the uid holding lease {id}.
	AdminOrHolder
	// LeaseSecret: lease {id}'s secret as a bearer token, presented by its
	// holder (uid; pid and start time for a process-bound lease).
	LeaseSecret
	// AdminOrIdentityAllowed: an admin or a uid/gid the identity allows;
	// the IdentitySource, which knows the identities, decides.
	AdminOrIdentityAllowed
)

func (p Permission) String() string {
	switch p {
	case Anyone:
		return "anyone"
	case Admin:
		return "admin"
	case AdminOrListFiltered:
		return "admin-or-list-filtered"
	case CanLease:
		return "can-lease"
	case AdminOrHolder:
		return "admin-or-holder"
	case LeaseSecret:
		return "lease-secret"
	case AdminOrIdentityAllowed:
		return "admin-or-identity-allowed"
	}
	return "unknown"
}

// RouteInfo describes one route: Path is in OpenAPI form
// ("/v1/leases/{id}/headers").
type RouteInfo struct {
	Method, Path string
	Permission   Permission
}

// handlerFunc serves a request the wrapper has authorized. It writes a
// success with writeJSON (or delegates) and returns any error unwritten.
type handlerFunc func(s *Server, c *call) error

type route struct {
	method, path string
	perm         Permission
	h            handlerFunc
}

// table is THE route table: every endpoint, the permission it needs and
// its handler.
func table() []route {
	return []route{
		{"GET", "/v1/health", Anyone, (*Server).serveHealth},
		{"GET", "/v1/ready", Anyone, (*Server).serveReady},
		{"GET", "/v1/credentials", AdminOrListFiltered, (*Server).serveCredentials},
		{"GET", "/v1/credentials/{name}", AdminOrListFiltered, (*Server).serveCredential},
		{"POST", "/v1/credentials/{name}/refresh", Admin, (*Server).serveRefresh},
		{"POST", "/v1/leases", CanLease, (*Server).serveCreateLease},
		{"GET", "/v1/leases", AdminOrListFiltered, (*Server).serveLeases},
		{"GET", "/v1/leases/{id}", AdminOrHolder, (*Server).serveLease},
		{"POST", "/v1/leases/{id}/renew", AdminOrHolder, (*Server).serveRenew},
		{"DELETE", "/v1/leases/{id}", AdminOrHolder, (*Server).serveRevoke},
		{"POST", "/v1/leases/{id}/headers", LeaseSecret, (*Server).serveHeaders},
		{"POST", "/v1/leases/{id}/invalidate", LeaseSecret, (*Server).serveInvalidate},
		{"PUT", "/v1/identities/{name}", AdminOrIdentityAllowed, (*Server).serveRegisterIdentity},
		{"DELETE", "/v1/identities/{name}", AdminOrIdentityAllowed, (*Server).serveClearIdentity},
		{"GET", "/v1/events", AdminOrListFiltered, (*Server).serveEvents},
		{"GET", "/metrics", Admin, (*Server).serveMetrics},
	}
}

// Routes lists the route table, sorted by path then method, so a test can
// keep it in step with api/openapi.yaml.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range table() {
		out = append(out, RouteInfo{Method: r.method, Path: r.path, Permission: r.perm})
	}
	slices.SortFunc(out, func(a, b RouteInfo) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// Routes lists the route table (the package's Routes).
func (s *Server) Routes() []RouteInfo { return Routes() }

// mux routes the table; a known path with another method answers 405 and
// an unknown path 404, both as problems.
func (s *Server) mux() http.Handler {
	mux := http.NewServeMux()
	known := http.NewServeMux() // any method on a known path
	allow := map[string][]string{}
	for _, r := range table() {
		mux.Handle(r.method+" "+r.path, s.wrap(r))
		allow[r.path] = append(allow[r.path], r.method)
	}
	for path, methods := range allow {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		list := strings.Join(methods, ", ")
		known.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", list)
			s.fail(w, r, problem(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", clip(r.Method), path, list))
		})
	}
	known.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, problem(http.StatusNotFound, api.CodeNotFound, "no endpoint %s", clip(r.URL.Path)))
	})
	mux.Handle("/", known)
	return mux
}
