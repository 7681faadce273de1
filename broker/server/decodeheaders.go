package server

import (
	"bytes"
	"io"

	"github.com/awf-broker/awf-broker/api"
)

// maxPlainBody bounds the header request body read in one piece for the
// plain decoder; a forwarder's is about a hundred bytes.
const maxPlainBody = 4 << 10

// decodeHeaders reads the body of a header request into req, as decode
// would, and answers exactly as decode does. The grant is the broker's
// hottest request and encoding/json's reflection was half its time, so a
// body of known length in the plain form a forwarder sends
// (parsePlainHeadersRequest) is decoded without it; any other body goes
// to encoding/json, which decodes it or words the refusal.
func (s *Server) decodeHeaders(c *call, req *api.HeadersRequest) error {
	n := c.r.ContentLength
	if n <= 0 || n > maxPlainBody {
		return s.decode(c, req, false)
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	if int64(cap(*bp)) < n {
		*bp = make([]byte, n)
	}
	b := (*bp)[:n]
	got, err := io.ReadFull(c.r.Body, b)
	switch {
	case err != nil:
		// Replay what arrived, then the error: the decoder answers as it
		// would have reading the body itself (a timeout, a short body).
		err = decodeFrom(c.w, io.MultiReader(bytes.NewReader(b[:got]), errReader{err}), req, false, s.cfg.BodyReadTimeout)
	case parsePlainHeadersRequest(b, req):
	default:
		*req = api.HeadersRequest{}
		err = decodeFrom(c.w, bytes.NewReader(b), req, false, s.cfg.BodyReadTimeout)
	}
	return s.bodyRead(c, err)
}

// errReader returns err on every read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// parsePlainHeadersRequest decodes b into req, which must be zero, when b
// is a header request in plain form, and reports whether it was. Plain is
// a subset of JSON on which the result is encoding/json's (with unknown
// fields disallowed and nothing after the value): an object of the four
// fields by their exact names, each at most once; every value a string
// of printable ASCII without escapes, but "headers", an object of such
// strings. Anything else (escapes, other bytes, null, numbers, case-folded
// or unknown names, a repeated field, trailing data) is not plain: req
// may then be partly filled.
func parsePlainHeadersRequest(b []byte, req *api.HeadersRequest) bool {
	p := plainJSON{b: b}
	var seen [4]bool
	ok := p.object(func(key []byte) bool {
		var f int
		var dst *string
		switch string(key) {
		case "method":
			f, dst = 0, &req.Method
		case "url":
			f, dst = 1, &req.URL
		case "body_sha256":
			f, dst = 2, &req.BodySHA256
		case "headers":
			f = 3
		default:
			return false
		}
		if seen[f] {
			return false
		}
		seen[f] = true
		if dst != nil {
			v, ok := p.str()
			*dst = string(v)
			return ok
		}
		// encoding/json makes the map for an empty object too; a key
		// given twice keeps its last value, as here.
		req.Headers = map[string]string{}
		return p.object(func(k []byte) bool {
			v, ok := p.str()
			if ok {
				req.Headers[string(k)] = string(v)
			}
			return ok
		})
	})
	p.space()
	return ok && p.i == len(p.b)
}

// plainJSON reads plain JSON (see parsePlainHeadersRequest) from b.
type plainJSON struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (p *plainJSON) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips whitespace, then c, and reports whether c was there.
func (p *plainJSON) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes; ok is false for
// anything else.
func (p *plainJSON) str() (s []byte, ok bool) {
	if !p.next('"') {
		return nil, false
	}
	for start := p.i; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// object reads an object, calling member after each key (member reads
// the value), and reports whether it was plain and member accepted every
// value.
func (p *plainJSON) object(member func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.next(':') || !member(k) {
			return false
		}
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}
