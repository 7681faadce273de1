package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

func serve(t *testing.T, h http.Handler) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c := New(sock)
	t.Cleanup(c.Close)
	return c
}

func TestHeadersSendsSecretOnlyInAuthorization(t *testing.T) {
	const secret = "awfl_test-secret-value"
	var gotAuth, gotPath string
	var gotBody api.HeadersRequest
	c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		json.NewDecoder(r.Body).Decode(&gotBody)
		json.NewEncoder(w).Encode(api.HeadersResponse{Set: map[string]string{"authorization": "Bearer x"}, Remove: []string{}})
	}))
	out, err := c.Headers(context.Background(), "0b8f3d4e-0000-4000-8000-000000000000", secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
	if err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer "+secret || gotPath != "/v1/leases/0b8f3d4e-0000-4000-8000-000000000000/headers" || gotBody.Method != "POST" {
		t.Errorf("auth=%q path=%q body=%+v", gotAuth, gotPath, gotBody)
	}
	if out.Set["authorization"] != "Bearer x" {
		t.Errorf("set = %v", out.Set)
	}
}

func TestProblemDecoding(t *testing.T) {
	c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/health" {
			w.Write([]byte("<html>garbage</html>"))
			return
		}
		if r.URL.Path == "/v1/credentials" {
			w.WriteHeader(502)
			w.Write([]byte(strings.Repeat("g", 500)))
			return
		}
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(503)
		json.NewEncoder(w).Encode(api.Problem{Title: "Credential unavailable", Status: 503, Code: api.CodeCredentialUnavailable, Detail: "no token yet", RetryAfter: 7})
	}))
	_, err := c.Lease(context.Background(), "x")
	var e *Error
	if !errors.As(err, &e) || e.Code != api.CodeCredentialUnavailable || e.RetryAfter != 7*time.Second || e.Status != 503 {
		t.Fatalf("err = %#v", err)
	}
	if !IsCode(err, api.CodeCredentialUnavailable) || IsUnreachable(err) {
		t.Error("IsCode/IsUnreachable wrong")
	}
	if _, err := c.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("garbage body: %v", err)
	}
	_, err = c.Credentials(context.Background())
	if !errors.As(err, &e) || e.Code != "unexpected_response" || len(e.Detail) > 260 {
		t.Errorf("non-problem error: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	c := New(filepath.Join(t.TempDir(), "missing.sock"))
	_, err := c.Health(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || !IsUnreachable(err) {
		t.Fatalf("err = %v, want *UnreachableError", err)
	}
}

func TestEscapeKeepsRoutes(t *testing.T) {
	for _, bad := range []string{"../x", "a/b", "", "..", "a?b"} {
		if got := escape(bad); got != "%2F" {
			t.Errorf("escape(%q) = %q", bad, got)
		}
	}
	if escape("anthropic") != "anthropic" {
		t.Error("escape changed a good name")
	}
}

func TestMetricsReturnsTheText(t *testing.T) {
	const text = "# HELP awf_leases_active Active leases.\nawf_leases_active 3\n"
	c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte(text))
	}))
	got, err := c.Metrics(context.Background())
	if err != nil || got != text {
		t.Fatalf("Metrics() = %q, %v", got, err)
	}
}
