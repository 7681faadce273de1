package tokens

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/anthropic"
	"github.com/awf-broker/awf-broker/broker/provider/azure"
	"github.com/awf-broker/awf-broker/broker/provider/gcp"
	"github.com/awf-broker/awf-broker/broker/provider/openai"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// Made-up ids the fakes check.
const (
	ltRule   = "fdrl_01LIFETIME"
	ltOrg    = "00000000-0000-4000-8000-0000000000lt"
	ltSvac   = "svac_01LIFETIME"
	ltIdP    = "idp_lifetime"
	ltTenant = "00000000-0000-4000-8000-00000000te01"
	ltClient = "00000000-0000-4000-8000-00000000c101"
	ltWIP    = "projects/123/locations/global/workloadIdentityPools/p/providers/x"
)

// hostileUpstream is a real provider against its fake, stating a lifetime
// a test chose; requests counts what reached the fake's token endpoint.
type hostileUpstream struct {
	prov     provider.Exchanger
	requests func() int
}

// noRetryHTTP makes each exchange exactly one request to the fake.
func noRetryHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 0})
}

// hostileUpstreams builds each provider that reads an expires_in against
// its fake, stating expires_in as raw. (AWS STS states an Expiration
// time, not a lifetime: the aws provider's own tests cover it.)
func hostileUpstreams(t *testing.T, gh *fake.GitHub, raw string) map[string]hostileUpstream {
	t.Helper()
	out := map[string]hostileUpstream{}

	an := fake.NewAnthropic(fake.AnthropicOptions{GitHub: gh, FederationRuleID: ltRule, OrganizationID: ltOrg, ServiceAccountID: ltSvac})
	t.Cleanup(an.Close)
	an.SetExpiresInJSON(raw)
	ap, err := anthropic.New(anthropic.Config{Anthropic: settings.Anthropic{FederationRuleID: ltRule, OrganizationID: ltOrg, ServiceAccountID: ltSvac,
		Audience: "https://api.anthropic.com", TokenURL: an.TokenURL()}, HTTP: noRetryHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["anthropic"] = hostileUpstream{ap, func() int { return len(an.Requests()) }}

	oa := fake.NewOpenAI(fake.OpenAIOptions{GitHub: gh, IdentityProviderID: ltIdP, ServiceAccountID: ltSvac, ExpiresInJSON: raw})
	t.Cleanup(oa.Close)
	op, err := openai.New(openai.Config{OpenAI: settings.OpenAI{IdentityProviderID: ltIdP, ServiceAccountID: ltSvac, TokenURL: oa.TokenURL()}, HTTP: noRetryHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["openai"] = hostileUpstream{op, func() int { return len(oa.Requests()) }}

	az := fake.NewAzure(fake.AzureOptions{GitHub: gh, TenantID: ltTenant, ClientID: ltClient, ExpiresInJSON: raw})
	t.Cleanup(az.Close)
	zp, err := azure.New(azure.Config{Azure: settings.Azure{TenantID: ltTenant, ClientID: ltClient, TokenURL: az.TokenURL(), Audience: "api://AzureADTokenExchange",
		Scope: "https://cognitiveservices.azure.com/.default"}, HTTP: noRetryHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["azure"] = hostileUpstream{zp, func() int { return len(az.Requests()) }}

	gc := fake.NewGCP(fake.GCPOptions{GitHub: gh, WorkloadIdentityProvider: ltWIP, ExpiresInJSON: raw})
	t.Cleanup(gc.Close)
	gp, err := gcp.New(gcp.Config{GCP: settings.GCP{WorkloadIdentityProvider: ltWIP, TokenURL: gc.TokenURL()}, HTTP: noRetryHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["gcp"] = hostileUpstream{gp, func() int { return len(gc.STSRequests()) }}
	return out
}

// timedExchanger records the fake time at which each exchange starts.
type timedExchanger struct {
	next  provider.Exchanger
	clk   clock.Clock
	mu    sync.Mutex
	start []time.Time
}

func (x *timedExchanger) Exchange(ctx context.Context, s provider.Subject) (provider.Token, error) {
	x.mu.Lock()
	x.start = append(x.start, x.clk.Now())
	x.mu.Unlock()
	return x.next.Exchange(ctx, s)
}

func (x *timedExchanger) starts() []time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]time.Time(nil), x.start...)
}

// lifetimeRun is what 10 s of fake time did to one credential.
type lifetimeRun struct {
	exchanges int             // requests the fake's token endpoint received
	starts    []time.Time     // when each exchange started (fake time)
	served    []time.Duration // lifetimes of the tokens taken
	warned    int             // results that deserved a lifetime warning
}

// runTenSeconds runs a credential over ex on a fake clock for 10 s, in
// 100 ms steps, each taken once the credential is idle (no exchange in
// flight, Run waiting on its timer), and reports what happened.
func runTenSeconds(t *testing.T, ex provider.Exchanger, subject provider.Subject, requests func() int) lifetimeRun {
	t.Helper()
	clk := clock.NewFake(t0)
	timed := &timedExchanger{next: ex, clk: clk}
	var mu sync.Mutex
	var run lifetimeRun
	c := New(Config{Name: "hostile", Provider: "test", Exchanger: timed, Subject: subject, Clock: clk,
		Rand: func(n int64) int64 { return 0 }, // the shortest backoff: the spacing alone must hold
		OnExchange: func(r ExchangeResult) {
			mu.Lock()
			defer mu.Unlock()
			if r.Outcome == OutcomeOK {
				run.served = append(run.served, r.Lifetime)
			}
			if r.ShortLived() {
				run.warned++
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	idle := func() bool {
		c.mu.Lock()
		inflight := c.inflight != nil
		c.mu.Unlock()
		d, ok := clk.NextTimer()
		return !inflight && ok && d > 0
	}
	for clk.Now().Sub(t0) < 10*time.Second {
		eventually(t, "the credential to be idle", idle)
		clk.Advance(100 * time.Millisecond)
	}
	eventually(t, "the credential to be idle", idle)
	mu.Lock()
	defer mu.Unlock()
	run.exchanges, run.starts = requests(), timed.starts()
	return run
}

// TestHostileLifetimes: token endpoints stating expires_in 0, 1, 0.1,
// 1e12 (as an integer and in exponent form) and negative values. Over
// 10 s no credential exchanges more than 3 times (at least 5 s apart),
// the lifetime taken is within [1 s, 24 h] (1e12 used to overflow a
// time.Duration), a lifetime under 2 min is flagged for the warning event,
// and a lifetime that cannot be a token's (0, negative) is never served.
func TestHostileLifetimes(t *testing.T) {
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	subject, err := identity.NewGitHubActions(identity.GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: noRetryHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	const refused = time.Duration(-1)
	cases := []struct {
		raw string
		// want is the lifetime taken per provider (refused: never served).
		want map[string]time.Duration
	}{
		{"0", map[string]time.Duration{"anthropic": refused, "openai": refused, "azure": refused, "gcp": refused}},
		{"-1", map[string]time.Duration{"anthropic": refused, "openai": refused, "azure": refused, "gcp": refused}},
		{"-3600", map[string]time.Duration{"anthropic": refused, "openai": refused, "azure": refused, "gcp": refused}},
		{"1", map[string]time.Duration{"anthropic": time.Second, "openai": time.Second, "azure": time.Second, "gcp": time.Second}},
		// The Anthropic SDK, like the real client, takes expires_in as an
		// integer: 0.1 and 1e12 in exponent form are malformed answers.
		{"0.1", map[string]time.Duration{"anthropic": refused, "openai": time.Second, "azure": time.Second, "gcp": time.Second}},
		{"1000000000000", map[string]time.Duration{"anthropic": provider.MaxTokenLifetime, "openai": provider.MaxTokenLifetime, "azure": provider.MaxTokenLifetime, "gcp": provider.MaxTokenLifetime}},
		{"1e12", map[string]time.Duration{"anthropic": refused, "openai": provider.MaxTokenLifetime, "azure": provider.MaxTokenLifetime, "gcp": provider.MaxTokenLifetime}},
	}
	for _, c := range cases {
		ups := hostileUpstreams(t, gh, c.raw)
		for name, want := range c.want {
			t.Run(name+"/expires_in="+c.raw, func(t *testing.T) {
				up := ups[name]
				before := up.requests()
				run := runTenSeconds(t, up.prov, subject, func() int { return up.requests() - before })
				checkLifetimeRun(t, run, want)
			})
		}
	}
}

func checkLifetimeRun(t *testing.T, run lifetimeRun, want time.Duration) {
	t.Helper()
	if len(run.starts) != run.exchanges {
		t.Errorf("%d exchanges started, the fake saw %d requests", len(run.starts), run.exchanges)
	}
	for i := 1; i < len(run.starts); i++ {
		if gap := run.starts[i].Sub(run.starts[i-1]); gap < ExchangeSpacing {
			t.Errorf("exchange %d came %v after the one before, want ≥ %v", i+1, gap, ExchangeSpacing)
		}
	}
	switch {
	case want == provider.MaxTokenLifetime:
		if run.exchanges != 1 {
			t.Errorf("%d exchanges in 10 s of a 24 h token, want 1", run.exchanges)
		}
	case run.exchanges < 2 || run.exchanges > 3:
		t.Errorf("%d exchanges in 10 s, want 2–3 (one every 5 s)", run.exchanges)
	}
	if want < 0 {
		if len(run.served) != 0 {
			t.Errorf("served tokens of lifetimes %v, want none", run.served)
		}
		return
	}
	if len(run.served) != run.exchanges {
		t.Fatalf("%d tokens taken from %d exchanges", len(run.served), run.exchanges)
	}
	for _, l := range run.served {
		if l != want {
			t.Errorf("lifetime taken %v, want %v", l, want)
		}
	}
	wantWarned := 0
	if want < ShortLifetime || want == provider.MaxTokenLifetime { // short, or stated 1e12 s and clamped
		wantWarned = len(run.served)
	}
	if run.warned != wantWarned {
		t.Errorf("%d lifetime warnings for %d tokens of %v, want %d", run.warned, len(run.served), want, wantWarned)
	}
}
