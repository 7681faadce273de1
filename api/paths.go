package api

import "strings"

// HasDotSegment reports whether an escaped URL path has a segment that,
// as it is, decoded once or decoded twice, and with any ";" parameters cut
// off, is "." or "..": /a/../b, /a/%2e%2e/b, /a/%252e%252e/b, /a/..;x/b.
// The headers contract refuses such URLs (400 bad_request), in the broker
// and again in the forwarder: servers and proxies disagree on how often to
// decode a path and on whether ";" starts a parameter (Tomcat resolves
// "..;" as ".."), so one of them could resolve the path outside the
// prefix a lease was scoped to. Decoding is lenient (an invalid escape
// stays as it is), so a stray "%zz" cannot hide a dot segment, and
// separators that appear only once decoded (%2F, %5C, %252F) split
// segments too.
func HasDotSegment(escaped string) bool {
	p := escaped
	for decoded := 0; ; decoded++ {
		if dotSegment(p) {
			return true
		}
		if decoded == 2 {
			return false
		}
		next := unescapeLenient(p)
		if next == p {
			// Nothing to decode (the common path has no '%'): every
			// further reading is this one.
			return false
		}
		p = next
	}
}

// dotSegment reports whether path, read as it is, has a segment that is
// "." or ".." once its ";" parameters are cut off.
func dotSegment(path string) bool {
	for seg := range strings.FieldsFuncSeq(path, isPathSeparator) {
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func isPathSeparator(r rune) bool { return r == '/' || r == '\\' }

// unescapeLenient decodes every valid %XX escape in s once and keeps
// anything else as it is.
func unescapeLenient(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, lo := unhex(s[i+1]), unhex(s[i+2]); hi >= 0 && lo >= 0 {
				b.WriteByte(byte(hi<<4 | lo))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
