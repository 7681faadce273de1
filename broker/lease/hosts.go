package lease

import (
	"strconv"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// MatchHost reports whether the scope entry pattern covers hostport
// (DESIGN §4): an entry names a host, optionally with a port; without a
// port it matches the host with any port, with one only that port.
// "*.example.com" matches one or more labels before example.com, never
// example.com itself. "*-aiplatform.googleapis.com" matches a first label
// that ends in "-aiplatform" after at least one character and no dot
// ("us-central1-aiplatform.googleapis.com"), never the apex
// "aiplatform.googleapis.com" nor "a.b-aiplatform.googleapis.com": Vertex
// AI's regional hosts. Comparison ignores case; IPv6 literals are written
// in brackets when a port follows ("[::1]:8080").
func MatchHost(pattern, hostport string) bool {
	pHost, pPort := splitHostPort(pattern)
	host, port := splitHostPort(hostport)
	return matchHost(pHost, pPort, host, port)
}

func matchHost(pHost, pPort, host, port string) bool {
	if pPort != "" && pPort != port {
		return false
	}
	if rest, ok := strings.CutPrefix(pHost, "*."); ok {
		return hasLabelSuffix(host, rest)
	}
	if rest, ok := strings.CutPrefix(pHost, "*-"); ok {
		return hasLabelPrefixSuffix(host, rest)
	}
	return strings.EqualFold(pHost, host)
}

// hasLabelPrefixSuffix reports whether host is a non-empty run of
// characters without a dot, then "-", then rest.
func hasLabelPrefixSuffix(host, rest string) bool {
	n := len(host) - len(rest)
	return n > 1 && host[n-1] == '-' && strings.EqualFold(host[n:], rest) &&
		strings.IndexByte(host[:n-1], '.') < 0
}

// hasLabelSuffix reports whether host is one or more labels followed by
// "."+domain.
func hasLabelSuffix(host, domain string) bool {
	n := len(host) - len(domain)
	return n > 1 && host[n-1] == '.' && strings.EqualFold(host[n:], domain)
}

// splitHostPort splits "host", "host:port", "[v6]", "[v6]:port" and a bare
// IPv6 literal without allocating.
func splitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		i := strings.IndexByte(hp, ']')
		if i < 0 {
			return hp, ""
		}
		host = hp[1:i]
		if rest := hp[i+1:]; strings.HasPrefix(rest, ":") {
			port = rest[1:]
		}
		return host, port
	}
	if i := strings.IndexByte(hp, ':'); i >= 0 && strings.IndexByte(hp[i+1:], ':') < 0 {
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

// defaultPort is the port a URL without one connects to.
func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// Subset checks that every requested host entry is covered by an entry of
// the ceiling (the credential's hosts): an exact host by an equal host or a
// wildcard over it, a wildcard only by a wildcard over it; and, where the
// ceiling entry names a port, with the same port. It answers 400 for a
// malformed entry and 403 scope_violation for one outside the ceiling.
func Subset(requested, ceiling []string) error {
	for _, h := range requested {
		if err := validHostEntry(h); err != nil {
			return err
		}
		ok := false
		for _, c := range ceiling {
			if covers(c, h) {
				ok = true
				break
			}
		}
		if !ok {
			return errf(403, api.CodeScopeViolation, "host %q is outside the credential's hosts", h)
		}
	}
	return nil
}

// covers reports whether ceiling entry c covers requested entry h.
func covers(c, h string) bool {
	cHost, cPort := splitHostPort(c)
	hHost, hPort := splitHostPort(h)
	if cPort != "" && cPort != hPort {
		return false
	}
	if rest, ok := strings.CutPrefix(hHost, "*."); ok {
		cRest, ok := strings.CutPrefix(cHost, "*.")
		return ok && (strings.EqualFold(rest, cRest) || hasLabelSuffix(rest, cRest))
	}
	if rest, ok := strings.CutPrefix(hHost, "*-"); ok {
		// "*-R" stands for hosts "<x>-R" with no dot in x: covered by
		// "*-R" itself, by "*-S" when R is "<y>-S" (no dot in y), and by
		// "*.D" when R's labels after its first lie under D.
		if cRest, ok := strings.CutPrefix(cHost, "*-"); ok {
			return strings.EqualFold(rest, cRest) || hasLabelPrefixSuffix(rest, cRest)
		}
		if cRest, ok := strings.CutPrefix(cHost, "*."); ok {
			i := strings.IndexByte(rest, '.')
			return i >= 0 && (strings.EqualFold(rest[i+1:], cRest) || hasLabelSuffix(rest[i+1:], cRest))
		}
		return false
	}
	return matchHost(cHost, "", hHost, "")
}

// validHostEntry checks a scope host entry's syntax: a DNS name (letters,
// digits, '-', '_', non-empty labels) optionally after "*." or "*-", an IPv4
// address, or an IPv6 literal; then optionally ":port".
func validHostEntry(e string) error {
	bad := func(why string) error { return errf(400, api.CodeBadRequest, "host %q: %s", clipped(e), why) }
	host, port := splitHostPort(e)
	if port != "" || strings.HasSuffix(e, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("invalid port")
		}
	}
	if strings.Contains(host, ":") { // IPv6 literal
		for i := 0; i < len(host); i++ {
			if c := host[i]; c != ':' && c != '.' && !isHex(c) {
				return bad("invalid IPv6 literal")
			}
		}
		return nil
	}
	name, wild := strings.CutPrefix(host, "*.")
	if !wild {
		name = strings.TrimPrefix(host, "*-")
	}
	if name == "" || len(name) > 253 {
		return bad("invalid host name")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return bad("empty or overlong label")
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c != '_' {
				return bad("invalid character in host name")
			}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// clipped keeps caller-supplied text short in messages.
func clipped(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
