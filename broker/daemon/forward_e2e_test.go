package daemon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// startForwarder runs the real forwarder against b's socket and the fake
// Messages API, and returns an Anthropic SDK client pointed at it.
func startForwarder(t *testing.T, b *broker, maxWait time.Duration) anthropic.Client {
	t.Helper()
	return startForwarderWith(t, b, maxWait)
}

// startForwarderWith is startForwarder with options for the forwarder's
// broker client.
func startForwarderWith(t *testing.T, b *broker, maxWait time.Duration, opts ...client.Option) anthropic.Client {
	t.Helper()
	up, _ := url.Parse(b.dev.API.URL())
	c := client.New(b.sock, opts...)
	f, err := forward.New(forward.Config{Client: c, Credential: "anthropic", Upstream: up, Label: "e2e", MaxWait: maxWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); f.Close(); cancel(); c.Close() })
	return anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(srv.URL),
		option.WithAPIKey("placeholder-not-a-key"), option.WithMaxRetries(0))
}

var e2eParams = anthropic.MessageNewParams{
	Model:     anthropic.Model("claude-fake-1"),
	MaxTokens: 16,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
}

// TestSDKThroughForwarderWhileTokensRotate: the real SDK as the agent,
// the real forwarder and broker, 8-second tokens rotating under a steady
// stream of plain and streaming calls: not one fails, and the upstream
// never sees anything but a valid minted bearer. (8 s: refreshed at 5 s,
// the exchange spacing, and served until 6 s.)
func TestSDKThroughForwarderWhileTokensRotate(t *testing.T) {
	b := startBroker(t, brokerOpts{lifetime: 8 * time.Second})
	sdk := startForwarder(t, b, 5*time.Second)
	ctx := context.Background()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(6 * time.Second)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for time.Now().Before(stop) {
				var err error
				if g%2 == 0 {
					_, err = sdk.Messages.New(ctx, e2eParams)
				} else {
					s := sdk.Messages.NewStreaming(ctx, e2eParams)
					var acc anthropic.Message
					for s.Next() {
						_ = acc.Accumulate(s.Current())
					}
					err = s.Err()
					if err == nil && (len(acc.Content) == 0 || acc.Content[0].Text != "Hello from the fake.") {
						t.Errorf("streamed message = %+v", acc.Content)
					}
				}
				if err != nil {
					failed.Add(1)
					t.Errorf("call failed: %v", err)
				} else {
					ok.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 20 {
		t.Fatalf("ok %d, failed %d", ok.Load(), failed.Load())
	}
	if n := b.dev.Anthropic.Exchanges(); n < 2 {
		t.Errorf("only %d exchanges in 6 s of 8 s tokens: no rotation happened", n)
	}
	if n := b.dev.API.Unauthenticated(); n != 0 {
		t.Errorf("the upstream saw %d unauthenticated requests", n)
	}
}

// TestForwarderSurvivesBrokerRestart: the broker stops and a new one
// starts on the same socket; requests in the gap wait and succeed, the
// forwarder re-leases (leases live in memory), and nothing reaches the
// upstream without the broker's headers.
func TestForwarderSurvivesBrokerRestart(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	var unreachable atomic.Int64 // the forwarder's round trips to the socket that failed
	sdk := startForwarderWith(t, b, 8*time.Second, client.WithTransport(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err != nil {
				unreachable.Add(1)
			}
			return resp, err
		})
	}))
	ctx := context.Background()
	if _, err := sdk.Messages.New(ctx, e2eParams); err != nil {
		t.Fatal(err)
	}
	b.stop()
	if err := <-b.done; err != nil {
		t.Fatal(err)
	}
	served := b.dev.API.Served()
	results := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := sdk.Messages.New(ctx, e2eParams); results <- err }()
	}
	// The gap is hit: the forwarder has found the broker gone at least
	// three times, and no request has been answered or sent upstream.
	testharness.WaitFor(t, 10*time.Second, "the forwarder to meet the stopped broker three times", func() bool { return unreachable.Load() >= 3 })
	select {
	case err := <-results:
		t.Fatalf("a request was answered with no broker running: %v", err)
	default:
	}
	if n := b.dev.API.Served(); n != served {
		t.Fatalf("%d requests reached the upstream with no broker running", n-served)
	}
	d2, err := New(Options{Config: b.dev.Config, Lookup: b.dev.Lookup, Logger: hclog.NewNullLogger(),
		HTTP: provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d2.Run(ctx2) }()
	defer func() { cancel(); <-done }()
	b.done <- nil // the harness's close() waits on it
	for i := 0; i < 3; i++ {
		if err := <-results; err != nil {
			t.Errorf("request in the restart gap failed: %v", err)
		}
	}
	if n := b.dev.API.Unauthenticated(); n != 0 {
		t.Errorf("the upstream saw %d unauthenticated requests", n)
	}
	if d2.Leases().Active() != 1 {
		t.Errorf("the forwarder did not re-lease from the new broker: %d active", d2.Leases().Active())
	}
}

// TestForwarderReplaysAfter401AndFailsClosedAfterRevoke: an upstream 401
// makes the forwarder invalidate and replay once; a revoked lease makes it
// answer 503 without sending anything upstream.
func TestForwarderReplaysAfter401AndFailsClosedAfterRevoke(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	sdk := startForwarder(t, b, 2*time.Second)
	ctx := context.Background()
	before := b.dev.Anthropic.Exchanges()
	b.dev.API.SetUnauthorizedOnce()
	if _, err := sdk.Messages.New(ctx, e2eParams); err != nil {
		t.Fatalf("401 then replay: %v", err)
	}
	if b.dev.Anthropic.Exchanges() != before+1 {
		t.Errorf("invalidate did not re-exchange (%d → %d)", before, b.dev.Anthropic.Exchanges())
	}
	leases, err := b.client.Leases(ctx)
	if err != nil || len(leases) != 1 {
		t.Fatalf("leases: %v %v", leases, err)
	}
	if _, err := b.client.RevokeLease(ctx, leases[0].ID); err != nil {
		t.Fatal(err)
	}
	served := b.dev.API.Served() + b.dev.API.Unauthenticated()
	_, err = sdk.Messages.New(ctx, e2eParams)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Fatalf("after revoke: %v, want a 503", err)
	}
	if got := b.dev.API.Served() + b.dev.API.Unauthenticated(); got != served {
		t.Errorf("a request reached the upstream after revocation")
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
