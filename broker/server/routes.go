package server

import (
	"github.com/awf-broker/awf-broker/api"
	"net/http"
	"sort"
	"strings"
)

// Perm is what a caller must be to call a route.
type Perm int

// Permissions.
const (
	// Anyone may call.
	Anyone Perm = iota
	// Admin only.
	Admin
	// Caller: any identified caller; the handler shows each only its own.
	Caller
	// Holder: an admin or the uid holding the lease {id}.
	Holder
	// LeaseSecret: the secret of lease {id}, presented by its holder.
	LeaseSecret
)

func (p Perm) String() string {
	return [...]string{"anyone", "admin", "caller", "holder", "lease-secret"}[p]
}

// RouteInfo describes one route for documentation and contract tests.
type RouteInfo struct {
	Method, Path string
	Perm         Perm
}

type route struct {
	method, path string
	perm         Perm
	h            handlerFunc
}

// table is THE route table: every endpoint and the permission it needs.
func (s *Server) table() []route {
	return []route{
		{"GET", "/v1/health", Anyone, s.serveHealth},
		{"GET", "/v1/ready", Anyone, s.serveReady},
		{"GET", "/v1/credentials", Caller, s.serveCredentials},
		{"GET", "/v1/credentials/{name}", Caller, s.serveCredential},
		{"POST", "/v1/credentials/{name}/refresh", Admin, s.serveRefresh},
		{"POST", "/v1/leases", Caller, s.serveCreateLease},
		{"GET", "/v1/leases", Caller, s.serveLeases},
		{"GET", "/v1/leases/{id}", Holder, s.serveLease},
		{"POST", "/v1/leases/{id}/renew", Holder, s.serveRenew},
		{"DELETE", "/v1/leases/{id}", Holder, s.serveRevoke},
		{"POST", "/v1/leases/{id}/headers", LeaseSecret, s.serveHeaders},
		{"POST", "/v1/leases/{id}/invalidate", LeaseSecret, s.serveInvalidate},
		{"PUT", "/v1/identities/{name}", Caller, s.serveRegisterIdentity},
		{"DELETE", "/v1/identities/{name}", Caller, s.serveClearIdentity},
		{"GET", "/v1/events", Caller, s.serveEvents},
		{"GET", "/metrics", Admin, s.serveMetrics},
	}
}

// Routes lists the route table.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.table() {
		out = append(out, RouteInfo{Method: r.method, Path: r.path, Perm: r.perm})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path+out[i].Method < out[j].Path+out[j].Method })
	return out
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	paths := http.NewServeMux() // known paths, any method: 405
	seen := map[string]bool{}
	for _, r := range s.table() {
		mux.Handle(r.method+" "+r.path, s.wrap(r))
		if !seen[r.path] {
			seen[r.path] = true
			allow := s.allowed(r.path)
			paths.HandleFunc(r.path, func(w http.ResponseWriter, req *http.Request) {
				w.Header().Set("Allow", allow)
				s.writeError(w, req, problem(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", req.Method, r.path, allow))
			})
		}
	}
	paths.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, problem(http.StatusNotFound, api.CodeNotFound, "no endpoint %s", req.URL.Path))
	})
	mux.Handle("/", paths)
	return mux
}

func (s *Server) allowed(path string) string {
	var m []string
	for _, r := range s.table() {
		if r.path == path {
			m = append(m, r.method)
		}
	}
	return strings.Join(m, ", ")
}
