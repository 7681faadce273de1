package forward

import (
	"net/http"

	"github.com/google/uuid"
)

// requestIDHeader is the canonical name of the request id every forwarded
// request carries and every answer echoes, as the gh-aw api-proxy does.
const requestIDHeader = "X-Request-Id"

// maxRequestID is the longest client-sent id kept.
const maxRequestID = 128

// saneRequestID reports whether a client's id may travel on: 1 to 128 of
// letters, digits, '_', '-' and '.' (the api-proxy's rule), so that it
// cannot smuggle anything into logs or headers.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ensureRequestID keeps the request's one sane X-Request-Id, or replaces
// whatever it carried with a new one, and returns the id.
func ensureRequestID(h http.Header) string {
	if vs := h[requestIDHeader]; len(vs) == 1 && saneRequestID(vs[0]) {
		return vs[0]
	}
	id := uuid.NewString()
	h[requestIDHeader] = []string{id}
	return id
}
