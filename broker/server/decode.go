package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// decode reads r's JSON body into v: at most MaxBodyBytes (413), no
// unknown fields (400 unknown_field naming it), nothing after the value,
// well-formed and well-typed (400 bad_request). An empty body is allowed
// when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength > MaxBodyBytes {
		return problem(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
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
