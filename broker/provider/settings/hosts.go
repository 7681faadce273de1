package settings

import "strings"

// MatchHost reports whether the host entry pattern covers hostport
// (DESIGN §4): an entry names a host, optionally with a port; without a
// port it matches the host with any port, with one only that port.
// "*.example.com" matches one or more labels before example.com, never
// example.com itself. "*-aiplatform.googleapis.com" matches a first label
// that ends in "-aiplatform" after at least one character and no dot
// ("us-central1-aiplatform.googleapis.com"), never the apex
// "aiplatform.googleapis.com" nor "a.b-aiplatform.googleapis.com": Vertex
// AI's regional hosts. Comparison ignores case; IPv6 literals are written
// in brackets when a port follows ("[::1]:8080"). ValidHost is the
// grammar of the entries.
func MatchHost(pattern, hostport string) bool {
	host, port := SplitHostPort(hostport)
	return MatchHostPort(pattern, host, port)
}

// MatchHostPort is MatchHost for a host and port already split (a URL's
// Hostname and Port, the port defaulted from its scheme); it allocates
// nothing.
func MatchHostPort(pattern, host, port string) bool {
	pHost, pPort := SplitHostPort(pattern)
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

// CoversHost reports whether the entry ceiling covers the entry requested:
// an exact host by an equal host or a wildcard over it, a wildcard only by
// a wildcard over it; and, where ceiling names a port, with the same port.
func CoversHost(ceiling, requested string) bool {
	cHost, cPort := SplitHostPort(ceiling)
	hHost, hPort := SplitHostPort(requested)
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

// SplitHostPort splits "host", "host:port", "[v6]", "[v6]:port" and a bare
// IPv6 literal without allocating.
func SplitHostPort(hp string) (host, port string) {
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
