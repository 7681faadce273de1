package lease

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// FuzzScopePaths checks the scope check's path rule against an oracle
// written here from the RFCs, not from the matcher: net/url's parse, a
// regexp percent-decoder, and RFC 3986 §5.2.4 remove_dot_segments. For
// every URL a lease admits, each way a server might read its path — as
// sent, decoded once, decoded twice; with ';' parameters kept or cut off;
// with '\' read as '/' — is left unchanged by remove_dot_segments (no dot
// segment to resolve) and lies under the lease's path prefix.
func FuzzScopePaths(f *testing.F) {
	f.Add("/v1", "https://api.anthropic.com/v1/messages")
	f.Add("/v1", "https://api.anthropic.com/v1/..;/admin")
	f.Add("/v1", "https://api.anthropic.com/v1/%252e%252e/admin")
	f.Add("/v1/", "https://api.anthropic.com/v1/%2e%2e%3b/admin")
	f.Add("/model", "https://api.anthropic.com/model/x-v1%253A0/invoke")
	f.Add("", "https://api.anthropic.com/a/.;x/b")
	f.Add("/a;b", "https://api.anthropic.com/a;b/c")
	f.Fuzz(func(t *testing.T, prefix, rawURL string) {
		s := New(Config{Alive: func(int32, uint64) bool { return true }})
		var req api.CreateLeaseRequest
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
		if err := l.Check("GET", u); err != nil {
			assertTyped(t, err)
			return
		}
		ref, err := url.Parse(rawURL)
		if err != nil {
			t.Fatalf("the scope check admitted %q, which net/url does not parse: %v", rawURL, err)
		}
		for _, r := range readings(ref.EscapedPath()) {
			if got := removeDotSegments(r.path); got != r.path {
				t.Fatalf("admitted %q, whose path read as %q resolves to %q", rawURL, r.path, got)
			}
			// A prefix is never percent-encoded: compare it with the
			// decoded readings, read the same way.
			if prefix != "" && r.decoded && !segmentsUnder(r.path, prefix, r.cut) {
				t.Fatalf("lease for prefix %q admitted %q, whose path read as %q is outside it", prefix, rawURL, r.path)
			}
		}
	})
}

var percentEscape = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

// decodeOnce replaces each valid %XX escape by its byte, leaving the rest.
func decodeOnce(s string) string {
	return percentEscape.ReplaceAllStringFunc(s, func(e string) string {
		n, _ := strconv.ParseUint(e[1:], 16, 8)
		return string([]byte{byte(n)})
	})
}

// reading is one way a server might read a path.
type reading struct {
	path         string
	decoded, cut bool // decoded at least once; ';' parameters cut off
}

// readings are the ways a server might read escaped: as sent, decoded once
// or twice, each with ';' parameters kept and cut off, '\' as '/'.
func readings(escaped string) []reading {
	var out []reading
	for i, p := range []string{escaped, decodeOnce(escaped), decodeOnce(decodeOnce(escaped))} {
		p = strings.ReplaceAll(p, `\`, "/")
		out = append(out, reading{p, i > 0, false}, reading{cutParams(p), i > 0, true})
	}
	return out
}

// cutParams cuts the ';' parameters off every segment of p.
func cutParams(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return strings.Join(segs, "/")
}

// removeDotSegments is RFC 3986 §5.2.4, step by step.
func removeDotSegments(in string) string {
	var out []string // output buffer, as the segments appended ("/x")
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"): // A
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"): // B
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"): // C
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..": // D
			in = ""
		default: // E: move the first segment, with its leading "/" if any
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				out, in = append(out, in), ""
			} else {
				out, in = append(out, in[:i+1]), in[i+1:]
			}
		}
	}
	return strings.Join(out, "")
}

// segmentsUnder reports whether path's segments begin with prefix's (a
// trailing "/" of the prefix names no segment), the prefix's ';'
// parameters cut off when cut.
func segmentsUnder(path, prefix string, cut bool) bool {
	if cut {
		prefix = cutParams(prefix)
	}
	ps := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
	xs := strings.Split(path, "/")
	if len(xs) < len(ps) {
		return false
	}
	for i := range ps {
		if xs[i] != ps[i] {
			return false
		}
	}
	return true
}

func TestRemoveDotSegments(t *testing.T) {
	// RFC 3986 §5.2.4's own examples, and §5.4's.
	for in, want := range map[string]string{
		"/a/b/c/./../../g":   "/a/g",
		"mid/content=5/../6": "mid/6",
		"/b/c/./g":           "/b/c/g",
		"/b/c/../g":          "/b/g",
		"/b/c/../../../g":    "/g",
		"/b/c/.":             "/b/c/",
		"/b/c/..":            "/b/",
		"/b/c/g.":            "/b/c/g.",
		"/b/c/..g":           "/b/c/..g",
		"/v1/messages":       "/v1/messages",
	} {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}
