package provider

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrorCode(t *testing.T) {
	cases := map[string]string{
		`{"error":"invalid_grant","error_description":"x"}`:                                          "invalid_grant",
		`{"type":"error","error":{"type":"authentication_error","message":"Authentication failed"}}`: "authentication_error",
		`{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`:                     "PERMISSION_DENIED",
		`<html>`:      "",
		`{"foo":1}`:   "",
		`{"error":7}`: "",
	}
	for body, want := range cases {
		if got := ErrorCode([]byte(body)); got != want {
			t.Errorf("ErrorCode(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestRedactDropsEchoedSecrets(t *testing.T) {
	body := `{"error":"invalid_grant","error_description":"bad","assertion":"SECRET-JWT","access_token":"SECRET-TOK"}`
	got := Redact([]byte(body))
	if strings.Contains(got, "SECRET") || !strings.Contains(got, "invalid_grant") {
		t.Fatalf("Redact = %s", got)
	}
	if got := Redact([]byte("<html>SECRET</html>")); strings.Contains(got, "SECRET") {
		t.Fatalf("non-JSON not redacted: %s", got)
	}
	if got := Redact([]byte(`{"error":"` + strings.Repeat("x", 5000) + `"}`)); len(got) > 2100 || !strings.HasSuffix(got, "...[truncated]") {
		t.Fatalf("long body not truncated: %d", len(got))
	}
}

func TestHTTPClientRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if n.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		case "/bad":
			n.Add(1)
			w.WriteHeader(http.StatusBadRequest)
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	c := NewHTTPClient(HTTPConfig{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	resp, err := c.Get(srv.URL + "/flaky")
	if err != nil || resp.StatusCode != 200 || n.Load() != 3 {
		t.Fatalf("flaky: %v status=%v attempts=%d", err, resp, n.Load())
	}
	resp.Body.Close()
	n.Store(0)
	resp, err = c.Get(srv.URL + "/bad")
	if err != nil || resp.StatusCode != 400 || n.Load() != 1 {
		t.Fatalf("4xx retried: attempts=%d err=%v", n.Load(), err)
	}
	resp.Body.Close()
	resp, err = c.Get(srv.URL + "/redirect")
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("redirect followed: %v %v", resp, err)
	}
	resp.Body.Close()
}
