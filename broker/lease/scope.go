package lease

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// Limits on what a lease request may name.
const (
	maxHosts    = 32
	maxMethods  = 16
	maxPrefixes = 32
	maxPrefix   = 512
	// MaxLabel is the longest lease label, in bytes.
	MaxLabel = 64
)

// Check refuses, with 403 scope_violation naming what is outside, a request
// the lease does not cover: its host (an entry without a port matches any
// port; the URL's port defaults from its scheme), its method (upper-case),
// or its path (prefixes match on segment boundaries). u must come from
// NormalizeURL. Check allocates nothing when the request is in scope.
func (l *Lease) Check(method string, u *url.URL) error {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	ok := false
	for _, h := range l.Scope.Hosts {
		if settings.MatchHostPort(h, host, port) {
			ok = true
			break
		}
	}
	if !ok {
		return errf(403, api.CodeScopeViolation, "host %q is outside the lease's scope", u.Host)
	}
	if len(l.Scope.Methods) > 0 && !slices.Contains(l.Scope.Methods, method) {
		return errf(403, api.CodeScopeViolation, "method %s is outside the lease's scope", clipped(method))
	}
	if len(l.Scope.PathPrefixes) > 0 {
		path := u.Path
		if path == "" {
			path = "/"
		}
		ok = false
		for _, p := range l.Scope.PathPrefixes {
			if pathUnder(path, p) {
				ok = true
				break
			}
		}
		if !ok {
			return errf(403, api.CodeScopeViolation, "path %q is outside the lease's scope", clipped(path))
		}
	}
	return nil
}

// pathUnder reports whether path is prefix or below it, on segment
// boundaries: "/v1/messages" covers "/v1/messages" and
// "/v1/messages/batches" but not "/v1/messagesX".
func pathUnder(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return path == prefix || len(path) > len(prefix) && path[len(prefix)] == '/' && strings.HasPrefix(path, prefix)
}

// makeScope builds a lease's scope from the request: hosts default to the
// credential's and must be a subset of them; methods are upper-cased HTTP
// tokens; path prefixes are absolute, unencoded and free of dot segments.
func makeScope(cred Ceiling, req api.CreateLeaseRequest) (api.Scope, error) {
	sc := api.Scope{Hosts: slices.Clone(cred.Hosts)}
	if len(req.Hosts) > maxHosts || len(req.Methods) > maxMethods || len(req.PathPrefixes) > maxPrefixes {
		return sc, errf(400, api.CodeBadRequest, "at most %d hosts, %d methods and %d path prefixes", maxHosts, maxMethods, maxPrefixes)
	}
	if len(req.Hosts) > 0 {
		hosts := make([]string, 0, len(req.Hosts))
		for _, h := range req.Hosts {
			if h = strings.ToLower(strings.TrimSpace(h)); !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
		if err := Subset(hosts, cred.Hosts); err != nil {
			return sc, err
		}
		sc.Hosts = hosts
	}
	for _, m := range req.Methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if !ValidMethod(m) {
			return sc, errf(400, api.CodeBadRequest, "invalid method %q", clipped(m))
		}
		if !slices.Contains(sc.Methods, m) {
			sc.Methods = append(sc.Methods, m)
		}
	}
	for _, p := range req.PathPrefixes {
		if err := validPrefix(p); err != nil {
			return sc, err
		}
		if !slices.Contains(sc.PathPrefixes, p) {
			sc.PathPrefixes = append(sc.PathPrefixes, p)
		}
	}
	return sc, nil
}

// ValidMethod reports whether m is an upper-case HTTP method token.
func ValidMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func validPrefix(p string) error {
	switch {
	case !strings.HasPrefix(p, "/") || len(p) > maxPrefix:
		return errf(400, api.CodeBadRequest, "path prefix %q must start with / and be at most %d bytes", clipped(p), maxPrefix)
	case strings.ContainsAny(p, "%\\?#"):
		return errf(400, api.CodeBadRequest, "path prefix %q must not be percent-encoded or hold '\\', '?' or '#'", clipped(p))
	case api.HasDotSegment(p):
		return errf(400, api.CodeBadRequest, "path prefix %q must not contain '.' or '..' segments (with or without ';' parameters)", clipped(p))
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return errf(400, api.CodeBadRequest, "path prefix %q must not contain spaces or control characters", clipped(p))
		}
	}
	return nil
}

// validLabel checks a lease label: at most MaxLabel bytes of printable UTF-8.
func validLabel(s string) error {
	if len(s) > MaxLabel || !utf8.ValidString(s) {
		return errf(400, api.CodeBadRequest, "label must be at most %d bytes of UTF-8", MaxLabel)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return errf(400, api.CodeBadRequest, "label must not contain control characters")
		}
	}
	return nil
}
