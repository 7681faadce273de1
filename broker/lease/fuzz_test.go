package lease

import (
	"errors"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// FuzzNormalizeURL: no input panics; an accepted URL is absolute, https or
// loopback http, and carries no dot segment, encoded slash or userinfo; a
// refusal is always a typed *Error.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"https://api.anthropic.com/v1/messages", "http://127.0.0.1:8080/x?y=1", "https://a/../b",
		"https://a/%2e%2e/b", "https://u:p@a/", "http://[::1]/", "https://a/b%2Fc", "ftp://x", "", "::", "https://a#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := NormalizeURL(raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status == 0 || e.Code == "" {
				t.Fatalf("untyped refusal %v", err)
			}
			return
		}
		if u.Host == "" || u.User != nil || u.Fragment != "" {
			t.Fatalf("accepted %q as %v", raw, u)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			t.Fatalf("accepted insecure %q", raw)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("accepted dot segment in %q", raw)
			}
		}
		if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
			t.Fatalf("accepted an encoded slash in %q", raw)
		}
	})
}

// FuzzMatchHost: a wildcard never matches its own apex, a "*-" wildcard
// never a host with a dot in the wildcard part, and a pattern without a
// port matches the same host with any port.
func FuzzMatchHost(f *testing.F) {
	f.Add("*.example.com", "a.example.com")
	f.Add("api.anthropic.com", "api.anthropic.com:443")
	f.Add("127.0.0.1:8080", "127.0.0.1:9090")
	f.Add("*-aiplatform.googleapis.com", "us-central1-aiplatform.googleapis.com")
	f.Add("*-aiplatform.googleapis.com", "a.b-aiplatform.googleapis.com")
	f.Fuzz(func(t *testing.T, pattern, host string) {
		got := settings.MatchHost(pattern, host)
		if rest, ok := strings.CutPrefix(pattern, "*."); ok && got && strings.EqualFold(host, rest) {
			t.Fatalf("%q matched its apex %q", pattern, host)
		}
		if rest, ok := strings.CutPrefix(pattern, "*-"); ok && got && !strings.Contains(rest, ":") {
			h, _ := settings.SplitHostPort(host)
			wild, ok := strings.CutSuffix(strings.ToLower(h), "-"+strings.ToLower(rest))
			if !ok || wild == "" || strings.Contains(wild, ".") {
				t.Fatalf("%q matched %q", pattern, host)
			}
		}
		// What a ceiling covers, it matches: a host covered by a pattern is
		// matched by it.
		if validHostEntry(pattern) == nil && validHostEntry(host) == nil && !strings.HasPrefix(host, "*") &&
			settings.CoversHost(pattern, host) != settings.MatchHost(pattern, host) && !strings.Contains(host, ":") {
			t.Fatalf("CoversHost(%q, %q) = %v but MatchHost = %v", pattern, host, settings.CoversHost(pattern, host), settings.MatchHost(pattern, host))
		}
		if !strings.Contains(pattern, ":") && !strings.ContainsAny(host, ":[]") && host != "" && settings.MatchHost(pattern, host) != settings.MatchHost(pattern, host+":1") {
			t.Fatalf("port changed the answer for %q / %q", pattern, host)
		}
	})
}

// FuzzCovers: coverage is sound. When a ceiling entry covers a requested
// wildcard, every host the wildcard matches (its '*' replaced by fill) is
// matched by the ceiling entry too.
func FuzzCovers(f *testing.F) {
	f.Add("*-aiplatform.googleapis.com", "*-central1-aiplatform.googleapis.com", "us")
	f.Add("*.googleapis.com", "*-aiplatform.googleapis.com", "us-east5")
	f.Add("*.example.com", "*.a.example.com", "x.y")
	f.Add("*-x.com", "*-a-x.com", "b")
	f.Fuzz(func(t *testing.T, ceiling, requested, fill string) {
		if !strings.HasPrefix(requested, "*") || validHostEntry(ceiling) != nil || validHostEntry(requested) != nil || !settings.CoversHost(ceiling, requested) {
			return
		}
		host := fill + requested[1:]
		if validHostEntry(host) != nil || !settings.MatchHost(requested, host) {
			return
		}
		if !settings.MatchHost(ceiling, host) {
			t.Fatalf("%q covers %q, which matches %q, but %q does not match it", ceiling, requested, host, ceiling)
		}
	})
}
