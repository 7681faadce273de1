package daemon

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/internal/apitest"
)

func scrapeMetrics(t *testing.T, b *broker) string {
	t.Helper()
	s, err := b.client.Metrics(context.Background())
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return s
}

// metricValue returns the value of one series ("name{labels}") in a scrape.
func metricValue(t *testing.T, scrape, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in the scrape:\n%s", series, grep(scrape, "awf_broker_"))
	return 0
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsContent(t *testing.T) {
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) { d.Config.Metrics.Listen = "127.0.0.1:0" }})
	ctx := context.Background()
	before := scrapeMetrics(t, b)
	for _, series := range []string{
		`awf_broker_exchanges_total{credential="anthropic",outcome="ok"}`,
		`awf_broker_credential_state{credential="anthropic",state="ready"}`,
		`awf_broker_leases_active{credential="anthropic"}`,
		`awf_broker_header_grants_total{credential="anthropic",outcome="ok"}`,
		`awf_broker_build_info{version="test"}`,
	} {
		metricValue(t, before, series) // present from the start
	}
	if v := metricValue(t, before, `awf_broker_leases_active{credential="anthropic"}`); v != 0 {
		t.Fatalf("leases_active = %v before any lease", v)
	}

	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	for range 3 {
		if _, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://evil.example.com/"})
	wantCode(t, err, 403, api.CodeScopeViolation)
	if _, err := b.client.Refresh(ctx, "anthropic"); err != nil {
		t.Fatal(err)
	}
	b.dev.Anthropic.Fail(fake.Fault500, -1)
	b.client.Refresh(ctx, "anthropic")
	b.dev.Anthropic.Reset()

	after := scrapeMetrics(t, b)
	want := map[string]float64{
		`awf_broker_exchanges_total{credential="anthropic",outcome="ok"}`:                  metricValue(t, before, `awf_broker_exchanges_total{credential="anthropic",outcome="ok"}`) + 1,
		`awf_broker_exchanges_total{credential="anthropic",outcome="error"}`:               1,
		`awf_broker_header_grants_total{credential="anthropic",outcome="ok"}`:              3,
		`awf_broker_header_grants_total{credential="anthropic",outcome="scope_violation"}`: 1,
		`awf_broker_header_grant_duration_seconds_count{credential="anthropic"}`:           4,
		`awf_broker_leases_active{credential="anthropic"}`:                                 1,
		`awf_broker_leases_active{credential="anthropic-key"}`:                             0,
		`awf_broker_credential_state{credential="anthropic",state="degraded"}`:             1,
		`awf_broker_credential_state{credential="anthropic",state="ready"}`:                0,
		`awf_broker_credential_state{credential="anthropic-key",state="ready"}`:            1,
	}
	for series, v := range want {
		if got := metricValue(t, after, series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	if n := metricValue(t, after, `awf_broker_exchange_duration_seconds_count{credential="anthropic"}`); n < 3 {
		t.Errorf("exchange_duration count = %v, want ≥ 3", n)
	}
	exp := metricValue(t, after, `awf_broker_token_expiry_timestamp_seconds{credential="anthropic"}`)
	if d := time.Until(time.Unix(int64(exp), 0)); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("token expiry %v from now, want about 1h", d)
	}
	if strings.Contains(after, `awf_broker_token_expiry_timestamp_seconds{credential="anthropic-key"}`) {
		t.Error("a static key has an expiry series")
	}

	if _, err := b.client.RevokeLease(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if v := metricValue(t, scrapeMetrics(t, b), `awf_broker_leases_active{credential="anthropic"}`); v != 0 {
		t.Errorf("leases_active = %v after the revocation", v)
	}

	// The same registry on the TCP listener.
	addr := b.d.MetricsAddr()
	if addr == nil {
		t.Fatal("no TCP metrics listener")
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `awf_broker_header_grants_total{credential="anthropic",outcome="ok"} 3`) {
		t.Fatalf("TCP /metrics: %d\n%s", resp.StatusCode, grep(string(body), "header_grants"))
	}

	// Never a secret in a scrape.
	secrets := append([]string{l.Secret}, b.dev.Anthropic.Tokens()...)
	secrets = append(secrets, b.dev.GitHub.Issued()...)
	for _, s := range secrets {
		if strings.Contains(after+string(body), s) {
			t.Fatalf("a secret (%.6s…) is in the scrape", s)
		}
	}
	for _, marker := range []string{fake.TokenPrefix, "eyJ"} {
		if strings.Contains(after, marker) {
			t.Fatalf("something token-shaped (%s) is in the scrape", marker)
		}
	}
}

func TestMetricsAdminOnly(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{})
	other := asOtherUID(t, b, spec)
	defer other.Close()
	_, err = other.Metrics(context.Background())
	wantCode(t, err, 403, api.CodeForbidden)
}
