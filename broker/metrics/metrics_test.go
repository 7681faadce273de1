package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// TestGrantAllocatesNothing keeps the hot path's instrumentation free of
// allocations: successes and refusals of a prepared credential.
func TestGrantAllocatesNothing(t *testing.T) {
	m := New(Config{})
	m.Prepare("anthropic")
	for _, outcome := range []string{"", OutcomeOK, api.CodeScopeViolation, api.CodeCredentialUnavailable} {
		if n := testing.AllocsPerRun(1000, func() { m.Grant("anthropic", outcome, 80*time.Microsecond) }); n != 0 {
			t.Errorf("Grant(%q) allocates %v times per call", outcome, n)
		}
	}
}

func TestScrape(t *testing.T) {
	exp := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	m := New(Config{Version: "1.2.3",
		Credentials: func() []CredentialSnapshot {
			return []CredentialSnapshot{{Name: "anthropic", State: api.StateDegraded, ExpiresAt: exp}, {Name: "key", State: api.StateReady}}
		},
		ActiveLeases: func() map[string]int { return map[string]int{"anthropic": 3} },
		Subscribers:  func() int { return 2 },
	})
	m.Grant("anthropic", "", time.Millisecond)
	m.Grant("anthropic", api.CodeScopeViolation, time.Millisecond)
	m.Grant("new", "odd_code", time.Millisecond) // neither prepared nor a known code
	m.Exchange("anthropic", "ok", 2*time.Second)
	m.SubscriberDropped()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, line := range []string{
		`awf_broker_header_grants_total{credential="anthropic",outcome="ok"} 1`,
		`awf_broker_header_grants_total{credential="anthropic",outcome="scope_violation"} 1`,
		`awf_broker_header_grants_total{credential="anthropic",outcome="forbidden"} 0`,
		`awf_broker_header_grants_total{credential="new",outcome="odd_code"} 1`,
		`awf_broker_header_grant_duration_seconds_count{credential="anthropic"} 2`,
		`awf_broker_exchanges_total{credential="anthropic",outcome="ok"} 1`,
		`awf_broker_exchange_duration_seconds_bucket{credential="anthropic",le="2.5"} 1`,
		`awf_broker_token_expiry_timestamp_seconds{credential="anthropic"} 1.7958708e+09`,
		`awf_broker_credential_state{credential="anthropic",state="degraded"} 1`,
		`awf_broker_credential_state{credential="anthropic",state="ready"} 0`,
		`awf_broker_credential_state{credential="key",state="ready"} 1`,
		`awf_broker_leases_active{credential="anthropic"} 3`,
		`awf_broker_leases_active{credential="key"} 0`,
		`awf_broker_event_subscribers 2`,
		`awf_broker_event_subscribers_dropped_total 1`,
		`awf_broker_build_info{version="1.2.3"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("scrape lacks %s", line)
		}
	}
	if strings.Contains(string(body), `awf_broker_token_expiry_timestamp_seconds{credential="key"}`) {
		t.Error("a credential without expiry has an expiry series")
	}
	m.Forget("anthropic")
	w = httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(w.Body.String(), `awf_broker_header_grants_total{credential="anthropic"`) {
		t.Error("Forget left the credential's grant series")
	}
}

func BenchmarkGrant(b *testing.B) {
	m := New(Config{})
	m.Prepare("anthropic")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Grant("anthropic", "", 80*time.Microsecond)
		}
	})
}
