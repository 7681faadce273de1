package forward

import (
	"net/http"
	"net/textproto"
	"strings"
)

// strippedHeaders are removed from every inbound request: the agent's own
// credentials, proxy metadata that could steer or mislead the upstream, and
// the hop-by-hop headers of RFC 9110 §7.6.1. Keys are canonical.
var strippedHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"X-Api-Key":           true,
	"X-Goog-Api-Key":      true,
	"Api-Key":             true,
	"Forwarded":           true,
	"Via":                 true,
	// The agent's cookies are not the upstream's business (the api-proxy
	// strips them too).
	"Cookie": true,
	// Hop-by-hop.
	"Connection":         true,
	"Proxy-Connection":   true,
	"Keep-Alive":         true,
	"Proxy-Authenticate": true,
	"Te":                 true,
	"Trailer":            true,
	"Transfer-Encoding":  true,
	"Upgrade":            true,
	// The forwarder answers 100-continue itself; the next hop is its own.
	"Expect": true,
	// The transport writes its own framing and host.
	"Content-Length": true,
	"Host":           true,
}

// hopHeaders are removed from upstream responses before they are relayed.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// lowerNames spares an allocation for the header names agents send most.
var lowerNames = map[string]string{
	"Accept":            "accept",
	"Accept-Encoding":   "accept-encoding",
	"Anthropic-Beta":    "anthropic-beta",
	"Anthropic-Version": "anthropic-version",
	"Anthropic-Dangerous-Direct-Browser-Access": "anthropic-dangerous-direct-browser-access",
	"Content-Type":                "content-type",
	"Idempotency-Key":             "idempotency-key",
	"Openai-Organization":         "openai-organization",
	"Openai-Project":              "openai-project",
	"User-Agent":                  "user-agent",
	"X-Stainless-Arch":            "x-stainless-arch",
	"X-Stainless-Lang":            "x-stainless-lang",
	"X-Stainless-Os":              "x-stainless-os",
	"X-Stainless-Package-Version": "x-stainless-package-version",
	"X-Stainless-Retry-Count":     "x-stainless-retry-count",
	"X-Stainless-Runtime":         "x-stainless-runtime",
	"X-Stainless-Runtime-Version": "x-stainless-runtime-version",
	"X-Stainless-Timeout":         "x-stainless-timeout",
	requestIDHeader:               "x-request-id", // every request carries one (ensureRequestID)
}

// isStripped reports whether the canonical header name k must not leave
// the forwarder, given the names the request's Connection header lists.
func isStripped(k string, connTokens []string) bool {
	if strippedHeaders[textproto.CanonicalMIMEHeaderKey(k)] {
		return true
	}
	if hasPrefixFold(k, "x-forwarded-") || hasPrefixFold(k, "x-amz-") {
		return true
	}
	for _, t := range connTokens {
		if strings.EqualFold(t, k) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// connectionTokens lists the header names named by Connection headers,
// which are hop-by-hop by declaration (RFC 9110 §7.6.1).
func connectionTokens(h http.Header) []string {
	vs := h["Connection"]
	if len(vs) == 0 {
		return nil
	}
	var out []string
	for _, v := range vs {
		for _, t := range strings.Split(v, ",") {
			if t = textproto.TrimString(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// copyRequestHeaders fills out with the inbound headers that may travel
// upstream and want (the broker's view) with the same set, lower-cased and
// comma-joined.
func copyRequestHeaders(out http.Header, want map[string]string, in http.Header) {
	conn := connectionTokens(in)
	for k, vs := range in {
		if len(vs) == 0 || isStripped(k, conn) {
			continue
		}
		out[k] = vs
		lk, ok := lowerNames[k]
		if !ok {
			lk = strings.ToLower(k)
		}
		if len(vs) == 1 {
			want[lk] = vs[0]
		} else {
			want[lk] = strings.Join(vs, ",")
		}
	}
	if _, ok := out["User-Agent"]; !ok {
		// An empty value stops the transport from adding Go's default.
		out["User-Agent"] = []string{""}
	}
}

// applyGrant applies the broker's answer: remove first, then set, so that a
// header both removed and set ends up with the broker's value.
func applyGrant(h http.Header, set map[string]string, remove []string) {
	for _, k := range remove {
		h.Del(k)
	}
	for k, v := range set {
		h[textproto.CanonicalMIMEHeaderKey(k)] = []string{v}
	}
}

// copyResponseHeaders relays upstream response headers minus hop-by-hop
// ones; the forwarder's own X-Request-Id, already in dst, wins over the
// upstream's.
func copyResponseHeaders(dst, src http.Header) {
	conn := connectionTokens(src)
	for k, vs := range src {
		if k == requestIDHeader && len(dst[k]) > 0 {
			continue
		}
		dst[k] = vs
	}
	for _, k := range hopHeaders {
		delete(dst, k)
	}
	for _, k := range conn {
		dst.Del(k)
	}
}
