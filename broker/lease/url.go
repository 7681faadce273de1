package lease

import (
	"net"
	"net/url"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// NormalizeURL parses the absolute URL of an outgoing request and refuses
// what no forwarder should ask for: a relative URL, userinfo, a fragment,
// control characters, '.' or '..' segments (api.HasDotSegment: also
// percent-encoded once or twice, or with ';' parameters), encoded
// slashes or backslashes, and any scheme but https (plain http only to a
// loopback host: 127.0.0.0/8, ::1, localhost). The host is lower-cased and
// an empty path becomes "/".
func NormalizeURL(raw string) (*url.URL, error) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return nil, errf(400, api.CodeBadRequest, "url must not contain spaces or control characters")
		}
	}
	if strings.IndexByte(raw, '#') >= 0 {
		return nil, errf(400, api.CodeBadRequest, "url must not carry a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errf(400, api.CodeBadRequest, "url does not parse")
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return nil, errf(400, api.CodeBadRequest, "url must be absolute")
	}
	if u.User != nil {
		return nil, errf(400, api.CodeBadRequest, "url must not carry userinfo")
	}
	u.Host = strings.ToLower(u.Host)
	if u.Hostname() == "" {
		return nil, errf(400, api.CodeBadRequest, "url has no host name")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, errf(400, api.CodeInsecureURL, "url must be https (plain http only to a loopback address)")
	}
	p := u.EscapedPath()
	if strings.Contains(p, `\`) || containsFold(p, "%2f") || containsFold(p, "%5c") {
		return nil, errf(400, api.CodeBadRequest, "url path must not contain encoded slashes or backslashes")
	}
	if api.HasDotSegment(p) {
		return nil, errf(400, api.CodeBadRequest, "url path must not contain '.' or '..' segments, decoded once or twice, with or without ';' parameters")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
