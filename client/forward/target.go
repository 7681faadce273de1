package forward

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// upstream is the pre-split base URL every request is mapped onto.
type upstream struct {
	scheme  string
	host    string // host[:port] as written in the base URL
	path    string // decoded base path, without a trailing slash
	escPath string // escaped base path, without a trailing slash
	query   string // the base URL's raw query, appended before the request's
	// prefix is scheme://host, the start of every absolute URL sent to the broker.
	prefix string
	// hostKey is the lower-cased host with the scheme's default port removed,
	// compared with absolute-form request targets.
	hostKey string
	// dedupe keeps a request path that already starts with the base path
	// as it is (the gh-aw api-proxy's rule): with base /v1, both
	// /v1/chat/completions and /responses land under /v1 once.
	dedupe bool
	// dropQuery names query parameters removed from every request.
	dropQuery []string
	// pathDir is path + "/", what a path under the base path starts with.
	pathDir string
}

func newUpstream(u *url.URL, dedupe bool, dropQuery []string) upstream {
	p := strings.TrimSuffix(u.Path, "/")
	return upstream{
		scheme:    u.Scheme,
		host:      u.Host,
		path:      p,
		escPath:   strings.TrimSuffix(u.EscapedPath(), "/"),
		query:     u.RawQuery,
		prefix:    u.Scheme + "://" + u.Host,
		hostKey:   hostKey(u.Scheme, u.Host),
		dedupe:    dedupe,
		dropQuery: dropQuery,
		pathDir:   p + "/",
	}
}

// hostKey normalizes host[:port] for comparison: lower case, default port dropped.
func hostKey(scheme, host string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if (port == "443" && scheme == "https") || (port == "80" && scheme == "http") || port == "" {
			if strings.Contains(h, ":") {
				return "[" + h + "]"
			}
			return h
		}
	}
	return host
}

// target is one request mapped onto the upstream.
type target struct {
	url url.URL // what the transport dials and sends
	abs string  // the absolute URL string given to the broker
	// upgrade reports whether the request is a WebSocket handshake
	// (isWebSocketUpgrade), decided once per request.
	upgrade bool
}

// targetError is a refusal of the request target, answered with 400.
type targetError string

func (e targetError) Error() string { return string(e) }

// mapTarget validates the inbound request target and maps its path and query
// onto the upstream base. The client never chooses the upstream host: the
// Host header is ignored, and an absolute-form target naming another host is
// refused.
func (u *upstream) mapTarget(r *http.Request) (target, error) {
	if r.Method == http.MethodConnect {
		return target{}, targetError("CONNECT is not supported by the forwarder")
	}
	in := r.URL
	if in.Host != "" || in.Scheme != "" || in.Opaque != "" {
		if in.Opaque != "" || hostKey(in.Scheme, in.Host) != u.hostKey {
			return target{}, targetError("absolute-form request target names another host; send origin-form paths")
		}
	}
	path, raw := in.Path, in.EscapedPath()
	if path == "" {
		path, raw = "/", "/"
	}
	if err := checkPath(path, raw); err != nil {
		return target{}, err
	}

	var t target
	t.url.Scheme = u.scheme
	t.url.Host = u.host
	base, escBase := u.path, u.escPath
	if u.dedupe && base != "" && (path == base || strings.HasPrefix(path, u.pathDir)) {
		base, escBase = "", ""
	}
	t.url.Path = base + path
	escaped := t.url.Path
	if escBase != base || raw != path {
		// Keep the client's escaping (e.g. %3A in Bedrock model ids).
		escaped = escBase + raw
		t.url.RawPath = escaped
	}
	rawQuery := dropQueryParams(in.RawQuery, u.dropQuery)
	switch {
	case u.query == "":
		t.url.RawQuery = rawQuery
	case rawQuery == "":
		t.url.RawQuery = u.query
	default:
		t.url.RawQuery = u.query + "&" + rawQuery
	}

	var b strings.Builder
	b.Grow(len(u.prefix) + len(escaped) + 1 + len(t.url.RawQuery))
	b.WriteString(u.prefix)
	b.WriteString(escaped)
	if t.url.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(t.url.RawQuery)
	}
	t.abs = b.String()
	return t, nil
}

// checkPath refuses paths an upstream or an intermediary could resolve to a
// different resource than the one the broker scoped: dot segments (the
// broker's rule, api.HasDotSegment), encoded slashes and backslashes, and
// control bytes.
func checkPath(path, raw string) error {
	if path[0] != '/' {
		return targetError("request target must be an absolute path")
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			return targetError("request path must not contain a backslash")
		}
		if c == '%' && i+2 < len(raw) {
			if (raw[i+1] == '2' && (raw[i+2] == 'f' || raw[i+2] == 'F')) ||
				(raw[i+1] == '5' && (raw[i+2] == 'c' || raw[i+2] == 'C')) {
				return targetError("request path must not contain an encoded slash (%2F or %5C)")
			}
		}
	}
	for i := 1; i < len(path); i++ {
		if c := path[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return targetError("request path must not contain control characters or backslashes")
		}
	}
	if api.HasDotSegment(raw) {
		return targetError("request path must not contain . or .. segments")
	}
	return nil
}
