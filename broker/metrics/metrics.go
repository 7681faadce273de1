// Package metrics is the broker's Prometheus instrumentation, on a registry
// of its own (never the global default). The header-grant path is the hot
// one: Grant looks its label children up in a copy-on-write map and
// allocates nothing.
package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/awf-broker/awf-broker/api"
)

// Metric names.
const (
	namespace = "awf_broker"

	NameExchanges           = namespace + "_exchanges_total"
	NameExchangeDuration    = namespace + "_exchange_duration_seconds"
	NameTokenExpiry         = namespace + "_token_expiry_timestamp_seconds"
	NameCredentialState     = namespace + "_credential_state"
	NameLeasesActive        = namespace + "_leases_active"
	NameHeaderGrants        = namespace + "_header_grants_total"
	NameHeaderGrantDuration = namespace + "_header_grant_duration_seconds"
	NameEventSubscribers    = namespace + "_event_subscribers"
	NameEventDrops          = namespace + "_event_subscribers_dropped_total"
	NameBuildInfo           = namespace + "_build_info"
)

// OutcomeOK is a successful header grant; refusals are labelled with their
// problem code (scope_violation, credential_unavailable, …).
const OutcomeOK = "ok"

// CredentialSnapshot is one credential's state at scrape time.
type CredentialSnapshot struct {
	Name  string
	State string
	// ExpiresAt is the served token's expiry; zero: none or no expiry.
	ExpiresAt time.Time
}

// Config configures the metrics.
type Config struct {
	Version string
	// Credentials returns every credential's state at scrape time.
	Credentials func() []CredentialSnapshot
	// ActiveLeases counts active leases per credential at scrape time.
	ActiveLeases func() map[string]int
	// Subscribers counts the open event subscriptions at scrape time.
	Subscribers func() int
}

// Metrics holds the broker's metrics.
type Metrics struct {
	cfg       Config
	reg       *prometheus.Registry
	exchanges *prometheus.CounterVec
	exchDur   *prometheus.HistogramVec
	grants    *prometheus.CounterVec
	grantDur  *prometheus.HistogramVec
	drops     prometheus.Counter

	mu     sync.Mutex                                // serialises additions to byCred
	byCred atomic.Pointer[map[string]*grantChildren] // copy-on-write
}

// grantChildren are one credential's pre-resolved header-grant metrics.
type grantChildren struct {
	outcomes map[string]prometheus.Counter // read-only once published
	duration prometheus.Observer
}

// grantOutcomes are resolved up front for every credential, so the first
// grant of each kind allocates nothing either.
var grantOutcomes = [...]string{
	OutcomeOK, api.CodeBadRequest, api.CodeUnknownField, api.CodeTooLarge, api.CodeUnauthenticated,
	api.CodeForbidden, api.CodeUnknownLease, api.CodeLeaseExpired, api.CodeLeaseRevoked,
	api.CodeScopeViolation, api.CodeInsecureURL, api.CodeCredentialUnavailable,
	api.CodeCredentialFailed, api.CodeInternal,
}

// New registers the broker's metrics, with the Go runtime and process
// collectors, on a new registry.
func New(cfg Config) *Metrics {
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry()}
	m.exchanges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameExchanges,
		Help: "Token exchanges by credential and outcome (ok, error, failed, discarded)."}, []string{"credential", "outcome"})
	m.exchDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameExchangeDuration,
		Help:    "Duration of token exchanges, the provider's retries included.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 90}}, []string{"credential"})
	m.grants = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameHeaderGrants,
		Help: "Header requests by credential and outcome (ok or the problem code)."}, []string{"credential", "outcome"})
	m.grantDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameHeaderGrantDuration,
		Help:    "Time the broker took to answer a header request.",
		Buckets: prometheus.ExponentialBuckets(25e-6, 2.5, 12)}, []string{"credential"})
	m.drops = prometheus.NewCounter(prometheus.CounterOpts{Name: NameEventDrops,
		Help: "Event subscribers dropped for falling behind."})
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: NameBuildInfo, Help: "The broker's version.",
		ConstLabels: prometheus.Labels{"version": cfg.Version}})
	info.Set(1)
	empty := map[string]*grantChildren{}
	m.byCred.Store(&empty)
	m.reg.MustRegister(m.exchanges, m.exchDur, m.grants, m.grantDur, m.drops, info, &stateCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry (for tests and further collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Exchange records one token exchange.
func (m *Metrics) Exchange(credential, outcome string, d time.Duration) {
	m.exchanges.WithLabelValues(credential, outcome).Inc()
	m.exchDur.WithLabelValues(credential).Observe(d.Seconds())
}

// SubscriberDropped records an event subscriber dropped as too slow.
func (m *Metrics) SubscriberDropped() { m.drops.Inc() }

// Prepare resolves a credential's header-grant children ahead of its first
// grant (and makes its zero counts visible).
func (m *Metrics) Prepare(credential string) { m.children(credential) }

// Grant records one header request: outcome is "" or OutcomeOK for a
// success, else the problem code. It allocates nothing for a prepared
// credential and a known outcome.
func (m *Metrics) Grant(credential, outcome string, d time.Duration) {
	c := (*m.byCred.Load())[credential]
	if c == nil {
		c = m.children(credential)
	}
	if outcome == "" {
		outcome = OutcomeOK
	}
	ctr := c.outcomes[outcome]
	if ctr == nil { // a code not in grantOutcomes: rare, so WithLabelValues is fine
		ctr = m.grants.WithLabelValues(credential, outcome)
	}
	ctr.Inc()
	c.duration.Observe(d.Seconds())
}

// children returns the credential's children, creating them once.
func (m *Metrics) children(credential string) *grantChildren {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.byCred.Load()
	if c := old[credential]; c != nil {
		return c
	}
	c := &grantChildren{outcomes: make(map[string]prometheus.Counter, len(grantOutcomes)),
		duration: m.grantDur.WithLabelValues(credential)}
	for _, o := range grantOutcomes {
		c.outcomes[o] = m.grants.WithLabelValues(credential, o)
	}
	next := make(map[string]*grantChildren, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[credential] = c
	m.byCred.Store(&next)
	return c
}

// Forget drops a removed credential's series (after a reload).
func (m *Metrics) Forget(credential string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.byCred.Load()
	next := make(map[string]*grantChildren, len(old))
	for k, v := range old {
		if k != credential {
			next[k] = v
		}
	}
	m.byCred.Store(&next)
	m.grants.DeletePartialMatch(prometheus.Labels{"credential": credential})
	m.grantDur.DeletePartialMatch(prometheus.Labels{"credential": credential})
	m.exchanges.DeletePartialMatch(prometheus.Labels{"credential": credential})
	m.exchDur.DeletePartialMatch(prometheus.Labels{"credential": credential})
}
