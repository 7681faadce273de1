package fake

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
)

// BearerAPI fakes a model API that takes a bearer token (Vertex AI, Azure
// OpenAI with Entra, OpenAI): it answers 200 with a small JSON body to a
// request whose Authorization bearer valid accepts and that carries none
// of the forbidden headers (an api-key beside the bearer), else 401.
type BearerAPI struct {
	srv      *httptest.Server
	valid    func(string) bool
	forbid   []string
	served   atomic.Int64
	refused  atomic.Int64
	lastPath atomic.Value
}

// NewBearerAPI starts the fake.
func NewBearerAPI(valid func(string) bool, forbid ...string) *BearerAPI {
	a := &BearerAPI{valid: valid, forbid: forbid}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	return a
}

// URL is the fake's base URL.
func (a *BearerAPI) URL() string { return a.srv.URL }

// Host is the fake's host:port.
func (a *BearerAPI) Host() string { return strings.TrimPrefix(a.srv.URL, "http://") }

// Close stops the fake.
func (a *BearerAPI) Close() { a.srv.Close() }

// Served and Refused count the answered and refused requests.
func (a *BearerAPI) Served() int64 { return a.served.Load() }

// Refused counts the refused requests.
func (a *BearerAPI) Refused() int64 { return a.refused.Load() }

// LastPath is the path (and query) of the last request served.
func (a *BearerAPI) LastPath() string { s, _ := a.lastPath.Load().(string); return s }

// bearerOK reports whether r carries Authorization: Bearer with a token
// valid accepts (nil accepts none) and none of the forbidden headers, as
// an API taking bearer tokens checks; the model API fakes share it.
func bearerOK(r *http.Request, valid func(string) bool, forbid ...string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || valid == nil {
		return false
	}
	for _, h := range forbid {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return valid(tok)
}

func (a *BearerAPI) serve(w http.ResponseWriter, r *http.Request) {
	if !bearerOK(r, a.valid, a.forbid...) {
		a.refused.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "message": "invalid credentials"}})
		return
	}
	a.served.Add(1)
	a.lastPath.Store(r.URL.RequestURI())
	writeJSON(w, http.StatusOK, map[string]any{"id": "fake-" + randomHex(6), "object": "chat.completion"})
}
