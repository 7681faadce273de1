package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

func apiHost(b *broker) string { return strings.TrimPrefix(b.dev.API.URL(), "http://") }

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func TestLeaseLifecycle(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	c := b.client
	created, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", TTL: "5m", Label: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Secret == "" || created.State != api.LeaseActive || created.Holder.Label != "e2e" {
		t.Fatalf("created = %+v", created.Lease)
	}
	got, err := c.Lease(ctx, created.ID)
	if err != nil || got.ID != created.ID {
		t.Fatalf("show: %v", err)
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	h, err := c.Headers(ctx, created.ID, created.Secret, &api.HeadersRequest{Method: "POST", URL: url, Headers: map[string]string{"anthropic-beta": "tools-2024"}})
	if err != nil {
		t.Fatal(err)
	}
	bearer := strings.TrimPrefix(h.Set["authorization"], "Bearer ")
	if !b.dev.Anthropic.Valid(bearer) {
		t.Fatal("headers carry no token the upstream accepts")
	}
	if h.Set["anthropic-beta"] != "tools-2024,oauth-2025-04-20" || h.Set["anthropic-version"] != "2023-06-01" || h.Remove[0] != "x-api-key" {
		t.Errorf("headers = %v remove %v", redact(h.Set), h.Remove)
	}
	if h.ValidUntil.After(created.ExpiresAt) {
		t.Errorf("valid_until %v after the lease's expiry %v", h.ValidUntil, created.ExpiresAt)
	}
	renewed, err := c.RenewLease(ctx, created.ID, "10m")
	if err != nil || !renewed.ExpiresAt.After(created.ExpiresAt) {
		t.Fatalf("renew: %v", err)
	}
	leases, err := c.Leases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Requests != 1 {
		t.Fatalf("leases = %+v, %v", leases, err)
	}
	revoked, err := c.RevokeLease(ctx, created.ID)
	if err != nil || revoked.State != api.LeaseRevoked {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	_, err = c.Headers(ctx, created.ID, created.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	wantCode(t, err, 410, api.CodeLeaseRevoked)
	_, err = c.Headers(ctx, "3fa85f64-5717-4562-b3fc-2c963f66afa6", created.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	wantCode(t, err, 404, api.CodeUnknownLease)
}

func redact(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k == "authorization" {
			v = "[redacted]"
		}
		out[k] = v
	}
	return out
}

func TestHeadersRefusals(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Methods: []string{"POST"}, PathPrefixes: []string{"/v1/messages"}})
	if err != nil {
		t.Fatal(err)
	}
	host := apiHost(b)
	cases := []struct {
		name, method, url string
		status            int
		code              string
	}{
		{"other host", "POST", "https://evil.example.com/v1/messages", 403, api.CodeScopeViolation},
		{"other method", "GET", "http://" + host + "/v1/messages", 403, api.CodeScopeViolation},
		{"other path", "POST", "http://" + host + "/v1/files", 403, api.CodeScopeViolation},
		{"http to non-loopback", "POST", "http://api.anthropic.com/v1/messages", 400, api.CodeInsecureURL},
		{"dot segments", "POST", "http://" + host + "/v1/messages/../admin", 400, api.CodeBadRequest},
		{"not a url", "POST", "::", 400, api.CodeBadRequest},
	}
	for _, c := range cases {
		_, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: c.method, URL: c.url})
		var e *client.Error
		if !errors.As(err, &e) || e.Status != c.status || e.Code != c.code {
			t.Errorf("%s: %v, want %d %s", c.name, err, c.status, c.code)
		}
	}
	_, err = b.client.Headers(ctx, l.ID, l.Secret+"x", &api.HeadersRequest{Method: "POST", URL: "http://" + host + "/v1/messages"})
	wantCode(t, err, 401, api.CodeUnauthenticated)

	path := "/v1/leases/" + l.ID + "/headers"
	auth := "Bearer " + l.Secret
	raws := []struct {
		name, method, path, auth, body string
		status                         int
		code                           string
	}{
		{"malformed json", "POST", path, auth, `{"method":`, 400, api.CodeBadRequest},
		{"unknown field", "POST", path, auth, `{"method":"POST","url":"http://` + host + `/v1/messages","colour":1}`, 400, api.CodeUnknownField},
		{"trailing garbage", "POST", path, auth, `{"method":"POST","url":"http://` + host + `/v1/messages"} {}`, 400, api.CodeBadRequest},
		{"too large", "POST", path, auth, `{"method":"POST","url":"` + strings.Repeat("a", 70000) + `"}`, 413, api.CodeTooLarge},
		{"missing auth", "POST", path, "", `{}`, 401, api.CodeUnauthenticated},
		{"garbled auth", "POST", path, "Basic Zm9vOmJhcg==", `{}`, 401, api.CodeUnauthenticated},
		{"id not a uuid", "POST", "/v1/leases/..%2f..%2fetc/headers", auth, `{}`, 400, api.CodeBadRequest},
		{"id not a uuid 2", "GET", "/v1/leases/not-a-uuid", "", ``, 400, api.CodeBadRequest},
		{"odd name", "GET", "/v1/credentials/a$b", "", ``, 400, api.CodeBadRequest},
		{"unknown credential", "GET", "/v1/credentials/nope", "", ``, 404, api.CodeUnknownCredential},
		{"unknown path", "GET", "/v2/things", "", ``, 404, api.CodeNotFound},
		{"wrong method", "GET", path, "", ``, 405, api.CodeMethodNotAllowed},
	}
	for _, c := range raws {
		resp, body := b.raw(c.method, c.path, c.auth, []byte(c.body))
		var p api.Problem
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != c.status || p.Code != c.code || resp.Header.Get("Content-Type") != api.ProblemContentType {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
	}
	// 10,000 headers in the body: answered, the daemon keeps serving.
	many := map[string]string{}
	for i := 0; i < 10000; i++ {
		many["x-h"+strconv.Itoa(i)] = "v"
	}
	_, err = b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "http://" + host + "/v1/messages", Headers: many})
	wantCode(t, err, 413, api.CodeTooLarge)
	if _, err := b.client.Health(ctx); err != nil {
		t.Fatalf("daemon stopped serving: %v", err)
	}
}

func TestUnavailableWhileTokenEndpointDown(t *testing.T) {
	b := startBroker(t, brokerOpts{lifetime: 4 * time.Second, wait: 300 * time.Millisecond})
	ctx := context.Background()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	b.dev.Anthropic.Fail(fake.Fault500, -1)
	// The 4 s token is served for 3 s; then nothing can replace it.
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		_, last = b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
		if last != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var e *client.Error
	if !errors.As(last, &e) || e.Status != 503 || e.Code != api.CodeCredentialUnavailable || e.RetryAfter < time.Second {
		t.Fatalf("after expiry with the endpoint down: %v", last)
	}
	// The refresh due at 2 s waits for the 5 s exchange spacing; its
	// failure is then on record while the token stays expired.
	testharness.WaitFor(t, 10*time.Second, "the credential to be expired with the refresh's error", func() bool {
		st, err := b.client.Credential(ctx, "anthropic")
		return err == nil && st.State == api.StateExpired && st.LastError != ""
	})
	b.dev.Anthropic.Reset()
	if _, err := b.client.Refresh(ctx, "anthropic"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}
