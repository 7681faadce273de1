package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// FuzzDecodeHeadersRequest: any body is either decoded or refused with a
// problem carrying a 4xx status and a code; nothing panics.
func FuzzDecodeHeadersRequest(f *testing.F) {
	for _, s := range []string{`{"method":"POST","url":"https://a/"}`, `{"method":`, `{"colour":1}`, `{} {}`, ``, `null`,
		`{"headers":{"a":1}}`, `{"method":"GET","url":"https://a/","headers":{"x":"y"},"body_sha256":"00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/leases/x/headers", bytes.NewReader(body))
		var req api.HeadersRequest
		err := decode(httptest.NewRecorder(), r, &req, false, time.Second)
		if err == nil {
			return
		}
		var p *api.Problem
		if !errors.As(err, &p) || p.Status < 400 || p.Status >= 500 || p.Code == "" {
			t.Fatalf("refusal %v is not a 4xx problem", err)
		}
		if p.Status == http.StatusRequestEntityTooLarge && len(body) <= MaxBodyBytes {
			t.Fatalf("a %d-byte body was called too large", len(body))
		}
	})
}
