package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/awf-broker/awf-broker/api"
)

// states are the credential states, one series each.
var states = [...]string{api.StatePending, api.StateReady, api.StateRefreshing, api.StateDegraded, api.StateExpired, api.StateFailed}

var (
	descExpiry = prometheus.NewDesc(NameTokenExpiry,
		"Unix time at which the served token expires (absent while none is held or it never expires).", []string{"credential"}, nil)
	descState = prometheus.NewDesc(NameCredentialState,
		"1 for the credential's current state, 0 for the others.", []string{"credential", "state"}, nil)
	descLeases = prometheus.NewDesc(NameLeasesActive,
		"Active leases per credential.", []string{"credential"}, nil)
	descSubscribers = prometheus.NewDesc(NameEventSubscribers,
		"Open event subscriptions.", nil, nil)
)

// stateCollector reads the credentials' state, the lease counts and the
// subscriptions at scrape time, so a reload needs no bookkeeping here.
type stateCollector struct{ m *Metrics }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descExpiry
	ch <- descState
	ch <- descLeases
	ch <- descSubscribers
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.m.cfg
	var leases map[string]int
	if cfg.ActiveLeases != nil {
		leases = cfg.ActiveLeases()
	}
	if cfg.Credentials != nil {
		for _, cr := range cfg.Credentials() {
			if !cr.ExpiresAt.IsZero() {
				ch <- prometheus.MustNewConstMetric(descExpiry, prometheus.GaugeValue, float64(cr.ExpiresAt.Unix()), cr.Name)
			}
			for _, s := range states {
				v := 0.0
				if s == cr.State {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, cr.Name, s)
			}
			ch <- prometheus.MustNewConstMetric(descLeases, prometheus.GaugeValue, float64(leases[cr.Name]), cr.Name)
		}
	}
	if cfg.Subscribers != nil {
		ch <- prometheus.MustNewConstMetric(descSubscribers, prometheus.GaugeValue, float64(cfg.Subscribers()))
	}
}
