package server

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// decode reads c's JSON body into v: at most MaxBodyBytes (413), no
// unknown fields (400 unknown_field naming it), nothing after the value,
// well-formed and well-typed (400 bad_request), and all of it within the
// body read timeout (400, and the connection is closed). An empty body is
// allowed when optional.
func (s *Server) decode(c *call, v any, optional bool) error {
	return s.bodyRead(c, decode(c.w, c.r, v, optional, s.cfg.BodyReadTimeout))
}

// bodyRead ends the body's read deadline once a decoder has read it, and
// returns the decoder's err.
func (s *Server) bodyRead(c *call, err error) error {
	if c.w.Header().Get("Connection") == "close" {
		// The body timed out. The deadline stays passed, so that the
		// server, which still drains the body when it closes it after
		// the answer, does not wait for the rest of it either.
		return err
	}
	// The body is read: a handler that now waits (for a token) must not
	// have its request cancelled by the body's deadline.
	s.clearBodyDeadline(c)
	return err
}

// setBodyDeadline bounds the read of a request's body (wrap calls it for
// every request that has one, but the event websocket). It is a
// real-time deadline on the socket, not the injected clock. A body no
// handler reads is still bounded: the server discards it after the
// answer, and gives up at the deadline.
func (s *Server) setBodyDeadline(c *call) {
	if c.r.ContentLength == 0 {
		return
	}
	if d, ok := c.w.(readDeadliner); ok {
		_ = d.SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout))
		c.bodyDeadline = true
	}
}

func (s *Server) clearBodyDeadline(c *call) {
	if !c.bodyDeadline {
		return
	}
	if d, ok := c.w.(readDeadliner); ok {
		_ = d.SetReadDeadline(time.Time{})
	}
	c.bodyDeadline = false
}

// decode reads r's JSON body into v (see Server.decode). A body that did
// not arrive within timeout (the read deadline setBodyDeadline set) is
// answered with "Connection: close": the rest of it must not be read as
// the next request.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool, timeout time.Duration) error {
	if r.ContentLength > MaxBodyBytes {
		return problem(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	return decodeFrom(w, http.MaxBytesReader(w, r.Body, MaxBodyBytes), v, optional, timeout)
}

// decodeFrom decodes body, which the caller has bounded, into v (see decode).
func decodeFrom(w http.ResponseWriter, body io.Reader, v any, optional bool, timeout time.Duration) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err != nil && isTimeout(err) {
		w.Header().Set("Connection", "close")
		return problem(http.StatusBadRequest, api.CodeBadRequest, "the request body did not arrive within %s", timeout)
	}
	if errors.Is(err, io.EOF) {
		if optional {
			return nil
		}
		return problem(http.StatusBadRequest, api.CodeBadRequest, "a JSON body is required")
	}
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			var mbe *http.MaxBytesError
			if errors.As(terr, &mbe) {
				err = terr
			} else {
				return problem(http.StatusBadRequest, api.CodeBadRequest, "unexpected data after the JSON value")
			}
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return problem(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for it; the text is stable.
		return problem(http.StatusBadRequest, api.CodeUnknownField, "unknown field %s", clip(strings.TrimPrefix(err.Error(), "json: unknown field ")))
	case errors.As(err, &se):
		return problem(http.StatusBadRequest, api.CodeBadRequest, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return problem(http.StatusBadRequest, api.CodeBadRequest, "field %s must be %s", te.Field, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, api.CodeBadRequest, "malformed JSON: unexpected end of body")
	default:
		return problem(http.StatusBadRequest, api.CodeBadRequest, "malformed JSON")
	}
}

// readDeadliner is the http.Server's ResponseWriter: it sets the
// connection's read deadline (as http.ResponseController does, without
// allocating one).
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// isTimeout reports whether err is a read that hit its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
