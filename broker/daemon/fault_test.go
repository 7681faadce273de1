package daemon

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// The fault suite: the token endpoint and GitHub's OIDC endpoint down,
// slow, rate limiting, answering garbage or refusing for good, each
// against the real daemon over its socket. Every test also checks that the
// broker does not hammer the failing endpoint while callers keep asking.

// faultLease creates a lease and returns a function asking for headers.
func faultLease(t *testing.T, b *broker) func(context.Context) error {
	t.Helper()
	l, err := b.client.CreateLease(context.Background(), api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	return func(ctx context.Context) error {
		_, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
		return err
	}
}

// hammer has n callers ask for headers for d, and returns every error.
func hammer(grant func(context.Context) error, n int, d time.Duration) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := grant(context.Background()); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return errs
}

// wantUnavailable checks that every error is a 503 with the code and,
// when it is retryable (credential_unavailable), a Retry-After of at least
// a second.
func wantUnavailable(t *testing.T, errs []error, code string) {
	t.Helper()
	if len(errs) == 0 {
		t.Fatal("no caller was refused")
	}
	for _, err := range errs {
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 503 || e.Code != code {
			t.Fatalf("refusal %v, want 503 %s", err, code)
		}
		if code == api.CodeCredentialUnavailable && e.RetryAfter < time.Second {
			t.Fatalf("refusal %v without Retry-After ≥ 1 s", err)
		}
	}
}

// deadEndpoint accepts connections and closes them at once, counting them.
func deadEndpoint(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String() + "/v1/oauth/token", &n
}

// TestFaultTokenEndpointDown: an endpoint that drops every connection.
// Callers get 503 credential_unavailable with Retry-After; the broker
// retries on its backoff (1 s base), not once per caller.
func TestFaultTokenEndpointDown(t *testing.T) {
	url, conns := deadEndpoint(t)
	b := startBroker(t, brokerOpts{wait: 200 * time.Millisecond, noReady: true, mod: func(d *devenv.Dev) {
		d.Config.Credentials[0].TokenURL = url
	}})
	grant := faultLease(t, b)
	errs := hammer(grant, 16, 3*time.Second)
	wantUnavailable(t, errs, api.CodeCredentialUnavailable)
	// Backoff 1, 2, 4 s with full jitter, each attempt retried once by the
	// HTTP client: a handful of connections, against hundreds of asks.
	if n := conns.Load(); n == 0 || n > 12 {
		t.Errorf("%d connections to the dead endpoint in 3 s for %d refused asks, want 1–12", n, len(errs))
	}
	st, err := b.client.Credential(context.Background(), "anthropic")
	if err != nil || st.State != api.StatePending || st.Failures == 0 || st.LastError == "" {
		t.Fatalf("credential = %+v, %v", st, err)
	}
	if r, err := b.client.Ready(context.Background()); err == nil && r.Ready {
		t.Error("ready while no token was ever obtained")
	}
}

// TestFaultTokenEndpointSlow: an exchange slower than wait_for_token.
// Many callers share the one exchange in flight, each gives up after the
// wait with 503, and all are served once it lands.
func TestFaultTokenEndpointSlow(t *testing.T) {
	b := startBroker(t, brokerOpts{wait: 300 * time.Millisecond, noReady: true, mod: func(d *devenv.Dev) {
		d.Anthropic.SetDelay(2 * time.Second)
		d.Anthropic.Fail(fake.FaultSlow, 1)
	}})
	grant := faultLease(t, b)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	took := make([]time.Duration, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			errs[i] = grant(context.Background())
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue // it came after the exchange landed: fine on a loaded machine
		}
		wantUnavailable(t, []error{err}, api.CodeCredentialUnavailable)
		if took[i] > 1500*time.Millisecond {
			t.Errorf("caller %d waited %v, want about the 300 ms wait_for_token", i, took[i])
		}
	}
	b.waitReady()
	if err := grant(context.Background()); err != nil {
		t.Fatalf("after the slow exchange landed: %v", err)
	}
	if n := len(b.dev.Anthropic.Requests()); n != 1 {
		t.Errorf("%d exchanges, want the one slow exchange shared by every caller", n)
	}
}

// TestFault429Storm: the token endpoint answers 429 with Retry-After: 1 to
// everything. The broker never asks more than about once a second (both
// its scheduler and its HTTP client honour Retry-After), and callers get
// 503 with a Retry-After.
func TestFault429Storm(t *testing.T) {
	b := startBroker(t, brokerOpts{wait: 200 * time.Millisecond, noReady: true, mod: func(d *devenv.Dev) {
		d.Anthropic.Fail(fake.Fault429, -1)
	}})
	grant := faultLease(t, b)
	start := time.Now()
	errs := hammer(grant, 16, 4*time.Second)
	elapsed := time.Since(start)
	wantUnavailable(t, errs, api.CodeCredentialUnavailable)
	n := len(b.dev.Anthropic.Requests())
	if max := int(elapsed/time.Second) + 2; n == 0 || n > max {
		t.Errorf("%d exchanges in %v under Retry-After: 1, want 1–%d", n, elapsed.Round(time.Millisecond), max)
	}
	st, err := b.client.Credential(context.Background(), "anthropic")
	if err != nil || st.LastErrorCode == "" && st.LastError == "" {
		t.Fatalf("credential = %+v, %v", st, err)
	}
	b.dev.Anthropic.Reset()
	if _, err := b.client.Refresh(context.Background(), "anthropic"); err != nil {
		t.Fatal(err)
	}
	if err := grant(context.Background()); err != nil {
		t.Fatalf("after the storm: %v", err)
	}
}

// TestFaultMalformedAnswers: a 200 that is not JSON, JSON cut short (with
// a token prefix in it) and an HTML error page. The old token keeps
// serving (degraded), the error is recorded without the body's token-like
// text, and service resumes on the next good answer.
func TestFaultMalformedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fake.Fault
	}{{"not-json", fake.FaultMalformed}, {"truncated", fake.FaultTruncated}, {"html", fake.FaultHTML}} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, brokerOpts{})
			ctx := context.Background()
			grant := faultLease(t, b)
			before := b.dev.Anthropic.Exchanges()
			b.dev.Anthropic.Fail(tc.fault, -1)
			st, err := b.client.Refresh(ctx, "anthropic")
			if err != nil {
				t.Fatal(err)
			}
			if st.State != api.StateDegraded || st.Failures == 0 || st.LastError == "" {
				t.Fatalf("after a %s answer: %+v", tc.name, st)
			}
			for _, bad := range []string{fake.TokenPrefix, "<html", "this is not json"} {
				if strings.Contains(st.LastError, bad) {
					t.Errorf("last_error %q holds the upstream body (%q)", st.LastError, bad)
				}
			}
			if err := grant(ctx); err != nil {
				t.Fatalf("the old token stopped serving: %v", err)
			}
			b.dev.Anthropic.Reset()
			if st, err = b.client.Refresh(ctx, "anthropic"); err != nil || st.State != api.StateReady {
				t.Fatalf("after recovery: %+v, %v", st, err)
			}
			if b.dev.Anthropic.Exchanges() != before+1 {
				t.Errorf("exchanges %d → %d, want one new", before, b.dev.Anthropic.Exchanges())
			}
		})
	}
}

// TestFaultGitHubDown: the OIDC endpoint answers 503: no exchange is
// attempted without a JWT, callers get 503, and the broker recovers when
// GitHub does.
func TestFaultGitHubDown(t *testing.T) {
	b := startBroker(t, brokerOpts{wait: 200 * time.Millisecond, noReady: true, mod: func(d *devenv.Dev) {
		d.GitHub.FailWith(503)
		onlyAnthropicMints(d)
	}})
	grant := faultLease(t, b)
	errs := hammer(grant, 8, 2*time.Second)
	wantUnavailable(t, errs, api.CodeCredentialUnavailable)
	if n := len(b.dev.Anthropic.Requests()); n != 0 {
		t.Errorf("%d exchanges without a JWT", n)
	}
	if n := b.dev.GitHub.Requests(); n == 0 || n > 10 {
		t.Errorf("%d requests to GitHub in 2 s, want 1–10", n)
	}
	b.dev.GitHub.FailWith(0)
	if _, err := b.client.Refresh(context.Background(), "anthropic"); err != nil {
		t.Fatal(err)
	}
	b.waitReady()
	if err := grant(context.Background()); err != nil {
		t.Fatalf("after GitHub recovered: %v", err)
	}
}

// TestFaultGitHubJobCompleted: GitHub refuses a JWT for a completed job —
// permanent. The credential fails, callers get credential_failed at once,
// and the broker does not keep asking (slow backoff: 30 s at least).
func TestFaultGitHubJobCompleted(t *testing.T) {
	b := startBroker(t, brokerOpts{wait: 200 * time.Millisecond, noReady: true, mod: func(d *devenv.Dev) {
		d.GitHub.SetCompleted(true)
		onlyAnthropicMints(d)
	}})
	grant := faultLease(t, b)
	var st *api.CredentialStatus
	testharness.WaitFor(t, 10*time.Second, "the credential to fail", func() bool {
		var err error
		st, err = b.client.Credential(context.Background(), "anthropic")
		return err == nil && st.State == api.StateFailed
	})
	if !strings.Contains(st.LastError, "Completed") && st.LastErrorCode == "" {
		t.Errorf("last error %q, %q does not say why", st.LastError, st.LastErrorCode)
	}
	asked := b.dev.GitHub.Requests()
	errs := hammer(grant, 8, 2*time.Second)
	wantUnavailable(t, errs, api.CodeCredentialFailed)
	if n := b.dev.GitHub.Requests() - asked; n != 0 {
		t.Errorf("%d more requests to GitHub for a completed job within 2 s", n)
	}
	if n := len(b.dev.Anthropic.Requests()); n != 0 {
		t.Errorf("%d exchanges without a JWT", n)
	}
}

// onlyAnthropicMints drops the dev credentials but "anthropic" that mint
// GitHub JWTs, so counts of requests to the GitHub fake are one
// credential's retry schedule.
func onlyAnthropicMints(d *devenv.Dev) {
	d.Config.Credentials = slices.DeleteFunc(d.Config.Credentials, func(c config.Credential) bool {
		return c.Identity != "" && c.Name != "anthropic"
	})
}
