package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// decode reads a JSON body into v: at most MaxBodyBytes, no unknown
// fields, nothing after the value. An empty body is allowed when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
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
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return problem(http.StatusBadRequest, api.CodeUnknownField, "unknown field %s", clip(field))
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return problem(http.StatusBadRequest, api.CodeBadRequest, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return problem(http.StatusBadRequest, api.CodeBadRequest, "field %s must be %s", te.Field, te.Type)
	default:
		return problem(http.StatusBadRequest, api.CodeBadRequest, "malformed JSON: %s", clip(err.Error()))
	}
}
