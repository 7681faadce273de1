package lease

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// fuzzCeiling is the credential the scope fuzzer leases from.
var fuzzCeiling = Ceiling{Name: "c", Hosts: []string{"api.anthropic.com", "*.example.com", "127.0.0.1:8080"}, MaxTTL: time.Hour}

// FuzzScope: whatever a lease request names (hosts, method, path prefix)
// and whatever URL is then checked against the lease, a request the lease
// admits is one its credential admits: its host matches a credential host,
// its method and path are within what the request named. Refusals are
// typed *Error with a 4xx status.
func FuzzScope(f *testing.F) {
	f.Add("api.anthropic.com", "POST", "/v1/messages", "POST", "https://api.anthropic.com/v1/messages/batches")
	f.Add("*.example.com", "", "", "GET", "https://a.b.example.com:8443/x")
	f.Add("a.example.com", "get", "/v1", "GET", "https://A.EXAMPLE.COM/v1x")
	f.Add("127.0.0.1:8080", "", "/", "PUT", "http://127.0.0.1:8080/")
	f.Add("example.com", "", "", "GET", "https://example.com/")
	f.Add("", "", "/a/../b", "GET", "https://api.anthropic.com/b")
	f.Fuzz(func(t *testing.T, host, method, prefix, reqMethod, rawURL string) {
		s := New(Config{Alive: func(int32, uint64) bool { return true }})
		var req api.CreateLeaseRequest
		if host != "" {
			req.Hosts = []string{host}
		}
		if method != "" {
			req.Methods = []string{method}
		}
		if prefix != "" {
			req.PathPrefixes = []string{prefix}
		}
		l, _, err := s.Create(fuzzCeiling, req, Holder{Cred: peer.Cred{UID: 1000}})
		if err != nil {
			assertTyped(t, err)
			return
		}
		u, err := NormalizeURL(rawURL)
		if err != nil {
			assertTyped(t, err)
			return
		}
		if err := l.Check(reqMethod, u); err != nil {
			assertTyped(t, err)
			return
		}
		inCeiling := false
		for _, c := range fuzzCeiling.Hosts {
			inCeiling = inCeiling || settings.MatchHost(c, u.Host) || settings.MatchHost(c, hostWithDefaultPort(u.Scheme, u.Host))
		}
		if !inCeiling {
			t.Fatalf("lease %+v admitted %q outside the credential's hosts", l.Scope, u.Host)
		}
		if method != "" && reqMethod != strings.ToUpper(strings.TrimSpace(method)) {
			t.Fatalf("lease for method %q admitted %q", method, reqMethod)
		}
		if prefix != "" && !pathUnder(orSlash(u.Path), prefix) {
			t.Fatalf("lease for prefix %q admitted path %q", prefix, u.Path)
		}
	})
}

func assertTyped(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 || e.Code == "" {
		t.Fatalf("refusal %v is not a typed 4xx *Error", err)
	}
}

func hostWithDefaultPort(scheme, host string) string {
	if _, port := settings.SplitHostPort(host); port != "" {
		return host
	}
	return host + ":" + defaultPort(scheme)
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
