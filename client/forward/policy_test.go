package forward

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

func bufioString(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func TestRenewDelay(t *testing.T) {
	for _, tc := range []struct{ ttl, want time.Duration }{
		{15 * time.Minute, 10 * time.Minute},
		{900 * time.Millisecond, 600 * time.Millisecond},
		{30 * time.Millisecond, 50 * time.Millisecond},
		{0, 50 * time.Millisecond},
	} {
		if got := renewDelay(tc.ttl); got != tc.want {
			t.Errorf("renewDelay(%v) = %v, want %v", tc.ttl, got, tc.want)
		}
	}
}

func TestLeaseTTLUsesTheBrokersClock(t *testing.T) {
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // far from local time: skew
	l := api.Lease{CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute)}
	if got := leaseTTL(&l, time.Now()); got != 15*time.Minute {
		t.Errorf("leaseTTL = %v", got)
	}
	now := time.Now()
	l = api.Lease{ExpiresAt: now.Add(time.Minute)}
	if got := leaseTTL(&l, now); got != time.Minute {
		t.Errorf("leaseTTL without created_at = %v", got)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{0, 0, 50 * time.Millisecond},
		{0, 0.999999, 99999950 * time.Nanosecond},
		{1, 0, 100 * time.Millisecond},
		{3, 1, 800 * time.Millisecond},
		{10, 0, time.Second},
		{1000, 1, 2 * time.Second},
	} {
		if got := backoff(tc.attempt, 100*time.Millisecond, 2*time.Second, tc.jitter); got != tc.want {
			t.Errorf("backoff(%d, jitter %v) = %v, want %v", tc.attempt, tc.jitter, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	ce := func(status int, code string) error {
		return fmt.Errorf("wrapped: %w", &client.Error{Status: status, Code: code})
	}
	for _, tc := range []struct {
		err       error
		want      action
		permanent bool
	}{
		{&client.UnreachableError{}, actRetry, false},
		{ce(503, api.CodeCredentialUnavailable), actWait, false},
		{ce(404, api.CodeUnknownLease), actReacquire, false},
		{ce(410, api.CodeLeaseExpired), actReacquire, false},
		{ce(401, api.CodeUnauthenticated), actReacquire, false},
		{ce(410, api.CodeLeaseRevoked), actRevoked, false},
		{ce(503, api.CodeCredentialFailed), actRefuse, true},
		{ce(403, api.CodeScopeViolation), actRefuse, true},
		{ce(403, api.CodeForbidden), actRefuse, true},
		{ce(404, api.CodeUnknownCredential), actRefuse, true},
		{ce(400, api.CodeBadRequest), actRefuse, true},
		{ce(500, api.CodeInternal), actRetry, false},
		{ce(429, "rate_limited"), actRetry, false},
		{ce(502, ""), actGarbage, false},
		{ce(502, codeUnexpectedResponse), actGarbage, false},
		{ce(404, codeUnexpectedResponse), actGarbage, true},
		{ce(400, ""), actGarbage, true},
		{errors.New("invalid character '<' looking for beginning of value"), actGarbage, false},
	} {
		if got, _ := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if got := permanent(tc.err); got != tc.permanent {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.permanent)
		}
	}
}

func TestIsStripped(t *testing.T) {
	conn := connectionTokens(http.Header{"Connection": {"X-Hop, keep-alive"}})
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Authorization", true}, {"Proxy-Authorization", true}, {"X-Api-Key", true}, {"X-Goog-Api-Key", true},
		{"Api-Key", true}, {"Forwarded", true}, {"Via", true}, {"X-Forwarded-For", true}, {"X-Forwarded-Proto", true},
		{"X-Amz-Date", true}, {"X-Amz-Security-Token", true}, {"x-amz-content-sha256", true}, {"Connection", true},
		{"Keep-Alive", true}, {"Te", true}, {"Transfer-Encoding", true}, {"Upgrade", true}, {"X-Hop", true},
		{"authorization", true},
		{"Content-Type", false}, {"Anthropic-Beta", false}, {"Anthropic-Version", false}, {"X-Amzn-Trace", false},
		{"X-Forwarder", false}, {"User-Agent", false}, {"Accept", false},
	} {
		if got := isStripped(tc.name, conn); got != tc.want {
			t.Errorf("isStripped(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestApplyGrantRemovesThenSets(t *testing.T) {
	h := http.Header{"Anthropic-Beta": {"a"}, "X-Drop": {"1"}, "Anthropic-Version": {"2023-01-01"}}
	applyGrant(h, map[string]string{"authorization": "Bearer t", "anthropic-beta": "a,oauth-2025-04-20"},
		[]string{"x-drop", "anthropic-beta"})
	want := http.Header{"Authorization": {"Bearer t"}, "Anthropic-Beta": {"a,oauth-2025-04-20"}, "Anthropic-Version": {"2023-01-01"}}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", h, want)
	}
}

// TestBackoffJitterSpreadsRetries checks, for random jitter, what keeps
// forwarders out of step: every delay lies in [d/2, d) of the un-jittered
// d, a larger jitter never gives a shorter delay, and draws spread over
// most of that range.
func TestBackoffJitterSpreadsRetries(t *testing.T) {
	const base, limit = 25 * time.Millisecond, time.Second
	r := rand.New(rand.NewPCG(1, 2))
	for attempt := range 12 {
		d := min(base<<attempt, limit)
		lo, hi := d, time.Duration(0)
		distinct := map[time.Duration]bool{}
		for range 500 {
			u, v := r.Float64(), r.Float64()
			got := backoff(attempt, base, limit, u)
			if got < d/2 || got >= d {
				t.Fatalf("attempt %d jitter %v: %v outside [%v, %v)", attempt, u, got, d/2, d)
			}
			if other := backoff(attempt, base, limit, v); (u < v) && other < got {
				t.Fatalf("attempt %d: jitter %v gives %v, larger jitter %v gives %v", attempt, u, got, v, other)
			}
			lo, hi = min(lo, got), max(hi, got)
			distinct[got] = true
		}
		if spread := hi - lo; spread < d/2*9/10 || len(distinct) < 450 {
			t.Errorf("attempt %d: 500 draws spread over %v of %v with %d distinct delays: not jittered", attempt, spread, d/2, len(distinct))
		}
	}
}

// TestGrantRetriesDrawAFreshJitter checks that the forwarder's retries
// toward the broker each draw a jitter instead of a constant factor.
func TestGrantRetriesDrawAFreshJitter(t *testing.T) {
	h := newHarness(t, harnessOpts{maxWait: 5 * time.Second})
	var mu sync.Mutex
	var draws int
	h.fwd.jitter = func() float64 { mu.Lock(); defer mu.Unlock(); draws++; return 0.25 }
	h.broker.setMode(modeUnavailable, 0) // credential_unavailable without Retry-After: backoff
	done := make(chan int, 1)
	go func() {
		resp, _ := h.do("GET", "/v1/models", nil, nil)
		done <- resp.StatusCode
	}()
	testharness.WaitFor(t, 5*time.Second, "three retries", func() bool { return h.broker.headerCalls.Load() >= 3 })
	h.broker.setMode(modeOK, 0)
	if code := <-done; code != 200 {
		t.Fatalf("status %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls := h.broker.headerCalls.Load(); int64(draws) != calls-1 {
		t.Errorf("%d jitter draws for %d broker calls; want one per retry (%d)", draws, calls, calls-1)
	}
}
