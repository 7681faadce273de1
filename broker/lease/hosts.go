package lease

import (
	"strconv"
	"strings"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

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
			if settings.CoversHost(c, h) {
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

// validHostEntry checks a scope host entry's syntax: a DNS name (letters,
// digits, '-', '_', non-empty labels) optionally after "*." or "*-", an IPv4
// address, or an IPv6 literal; then optionally ":port".
func validHostEntry(e string) error {
	bad := func(why string) error { return errf(400, api.CodeBadRequest, "host %q: %s", clipped(e), why) }
	host, port := settings.SplitHostPort(e)
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
