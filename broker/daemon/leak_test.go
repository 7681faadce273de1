package daemon

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
)

// TestNoSecretLeaks runs the flows, failures included, at trace level and
// checks that no token, JWT, request token, static key or lease secret
// appears in any log line, error, API answer but the lease's creation,
// credential listing, event or metric.
func TestNoSecretLeaks(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	var seen []string // everything a caller or operator could read
	record := func(v any, err error) {
		if err != nil {
			seen = append(seen, err.Error())
		}
		if v != nil {
			j, _ := json.Marshal(v)
			seen = append(seen, string(j))
		}
	}
	var secrets []string
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, l.Secret)
	record(l.Lease, nil)
	url := "http://" + apiHost(b) + "/v1/messages"
	record(b.client.Leases(ctx))
	record(b.client.Credentials(ctx))
	for _, f := range []fake.Fault{fake.FaultDeny401, fake.FaultInvalidGrant, fake.FaultHTML, fake.FaultMalformed, fake.FaultTruncated, fake.Fault500} {
		b.dev.Anthropic.Fail(f, -1)
		record(b.client.Refresh(ctx, "anthropic"))
		record(b.client.Credential(ctx, "anthropic"))
	}
	b.dev.Anthropic.Reset()
	record(b.client.Refresh(ctx, "anthropic"))
	record(nil, func() error {
		_, err := b.client.Headers(ctx, l.ID, l.Secret+"x", &api.HeadersRequest{Method: "POST", URL: url})
		return err
	}())
	record(nil, func() error {
		_, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://evil.example.com/"})
		return err
	}())
	b.dev.GitHub.SetCompleted(true)
	record(b.client.Refresh(ctx, "anthropic"))
	b.dev.GitHub.SetCompleted(false)
	record(b.client.RevokeLease(ctx, l.ID))
	record(nil, func() error {
		_, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
		return err
	}())

	secrets = append(secrets, b.dev.Anthropic.Tokens()...)
	secrets = append(secrets, b.dev.GitHub.Issued()...)
	for k, v := range b.dev.Env {
		if k != "ACTIONS_ID_TOKEN_REQUEST_URL" {
			secrets = append(secrets, v)
		}
	}
	if len(b.dev.Anthropic.Tokens()) < 2 || len(b.dev.GitHub.Issued()) < 2 {
		t.Fatalf("the flows minted too little to check (%d tokens)", len(b.dev.Anthropic.Tokens()))
	}
	seen = append(seen, b.logs.String())
	// Every event of the run (replayed from the first), and a scrape.
	last := b.d.obs.bus.Seq()
	w := watch(t, b.client, client.WatchOptions{Since: 1})
	for i := 0; ; i++ {
		ev := nextEvent(t, w, nil)
		if i == 0 && ev.Seq != 2 {
			t.Fatalf("replay starts at #%d: the run made too many events to check them all", ev.Seq)
		}
		j, _ := json.Marshal(ev)
		seen = append(seen, string(j))
		if ev.Seq >= last {
			break
		}
	}
	if last < 20 {
		t.Fatalf("only %d events: the flows should make more", last)
	}
	seen = append(seen, scrapeMetrics(t, b))
	for _, text := range seen {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("a secret (%d chars, starting %.6s…) leaked into: %.200s", len(s), s, text)
			}
		}
		for _, marker := range []string{fake.TokenPrefix, "eyJ"} {
			if strings.Contains(text, marker) {
				t.Fatalf("something token-shaped (%s) leaked into: %.300s", marker, text)
			}
		}
	}
}
