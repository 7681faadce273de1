package lease

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// NormalizeURL parses the absolute URL of an outgoing request and refuses
// what no forwarder should ask for: userinfo, fragments, '..' segments,
// encoded slashes or backslashes, and plain http to anything but loopback.
func NormalizeURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "url does not parse")
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "url must be absolute")
	}
	if u.User != nil || u.Fragment != "" {
		return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "url must not carry userinfo or a fragment")
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, errf(http.StatusBadRequest, api.CodeInsecureURL, "url must be https (plain http only to a loopback address)")
	}
	raw = u.EscapedPath()
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(raw, `\`) {
		return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "url path must not contain encoded slashes or backslashes")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == ".." || seg == "." {
			return nil, errf(http.StatusBadRequest, api.CodeBadRequest, "url path must not contain dot segments")
		}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MatchHost reports whether the scope entry pattern covers host:port.
// An entry without a port matches any port; "*.example.com" matches one
// or more labels before example.com, not example.com itself.
func MatchHost(pattern, hostport string) bool {
	host, port := splitHostPort(hostport)
	pHost, pPort := splitHostPort(pattern)
	if pPort != "" && pPort != port {
		return false
	}
	if rest, ok := strings.CutPrefix(pHost, "*."); ok {
		return len(host) > len(rest)+1 && strings.HasSuffix(host, rest) && host[len(host)-len(rest)-1] == '.'
	}
	return pHost == host
}

func splitHostPort(hp string) (host, port string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		return strings.ToLower(h), p
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]")), ""
}

// covers reports whether ceiling entry c covers requested entry h.
func covers(c, h string) bool {
	cHost, cPort := splitHostPort(c)
	hHost, hPort := splitHostPort(h)
	if cPort != "" && cPort != hPort {
		return false
	}
	if rest, ok := strings.CutPrefix(hHost, "*."); ok {
		// A wildcard is covered only by a wildcard over it.
		cRest, ok := strings.CutPrefix(cHost, "*.")
		return ok && (rest == cRest || strings.HasSuffix(rest, "."+cRest))
	}
	return MatchHost(cHost, hHost)
}

// Subset checks that every requested host is covered by the ceiling.
func Subset(requested, ceiling []string) error {
	for _, h := range requested {
		ok := false
		for _, c := range ceiling {
			if covers(c, h) {
				ok = true
				break
			}
		}
		if !ok {
			return errf(http.StatusForbidden, api.CodeScopeViolation, "host %q is outside the credential's hosts", h)
		}
	}
	return nil
}

// Check refuses a request outside the lease's scope.
func (l *Lease) Check(method string, u *url.URL) error {
	ok := false
	for _, h := range l.Scope.Hosts {
		if MatchHost(h, u.Host) {
			ok = true
			break
		}
	}
	if !ok {
		return errf(http.StatusForbidden, api.CodeScopeViolation, "host %q is outside the lease's scope", u.Host)
	}
	if len(l.Scope.Methods) > 0 {
		ok = false
		for _, m := range l.Scope.Methods {
			if m == method {
				ok = true
				break
			}
		}
		if !ok {
			return errf(http.StatusForbidden, api.CodeScopeViolation, "method %s is outside the lease's scope", method)
		}
	}
	if len(l.Scope.PathPrefixes) > 0 {
		ok = false
		for _, p := range l.Scope.PathPrefixes {
			if pathUnder(u.Path, p) {
				ok = true
				break
			}
		}
		if !ok {
			return errf(http.StatusForbidden, api.CodeScopeViolation, "path %q is outside the lease's scope", u.Path)
		}
	}
	return nil
}

// pathUnder reports whether path is prefix or below it, on segment boundaries.
func pathUnder(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
