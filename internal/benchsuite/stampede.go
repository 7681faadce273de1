package benchsuite

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/metrics"
)

// stampedeCallers is how many callers ask at once for a fresh credential.
const stampedeCallers = 1000

// stampedeExchange is how long the fake takes over the first exchange, so
// that the callers arrive while it is in flight.
const stampedeExchange = 300 * time.Millisecond

// stampede: a daemon just started, its first exchange in flight, and 1,000
// callers asking for headers at once: they must all be served by one
// exchange.
func (s *suite) stampede(ctx context.Context) error {
	b, err := startBroker(ctx, s.dir, brokerOpts{noWait: true, before: func(d *devenv.Dev) {
		d.Anthropic.SetDelay(stampedeExchange)
		d.Anthropic.Fail(fake.FaultSlow, 1)
		// Only "anthropic" mints GitHub JWTs, so the JWT count is its own.
		d.Config.Credentials = slices.DeleteFunc(d.Config.Credentials, func(c config.Credential) bool {
			return c.Identity != "" && c.Name != "anthropic"
		})
	}})
	if err != nil {
		return err
	}
	defer b.stop()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	req := &api.HeadersRequest{Method: "POST", URL: b.dev.API.URL() + "/v1/messages"}
	var failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range stampedeCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.client.Headers(ctx, l.ID, l.Secret, req); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, errBox{err})
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	exchanges, mints := len(b.dev.Anthropic.Requests()), b.dev.GitHub.Mints()
	if e, ok := first.Load().(errBox); ok {
		s.logf("stampede: %d callers failed, first: %v", failed.Load(), e.err)
	}
	sec := "cold start"
	s.rep.add(Row{Section: sec, Name: fmt.Sprintf("exchanges for %d concurrent callers", stampedeCallers), Value: float64(exchanges), Unit: "",
		Goal: "exactly 1", Pass: pass(exchanges == 1 && mints == 1)})
	s.rep.add(Row{Section: sec, Name: "failed callers", Value: float64(failed.Load()), Unit: "", Goal: "0", Pass: pass(failed.Load() == 0)})
	ms := float64(took) / float64(time.Millisecond)
	exch, err := exchangeSeconds(ctx, b, "anthropic")
	if err != nil {
		return fmt.Errorf("stampede: the exchange's measured duration: %w", err)
	}
	exchMS := exch * 1000
	s.rep.add(Row{Section: sec, Name: "time until all served", Value: ms, Unit: "ms", Counterpart: "the exchange, as the broker measured it",
		CounterValue: exchMS, Ratio: ratio(ms, exchMS)})
	return nil
}

// exchangeSeconds reads from the broker's own metrics how long cred's
// exchanges took, in seconds, summed (here: the one exchange, the
// GitHub mint and the fake's delay included).
func exchangeSeconds(ctx context.Context, b *liveBroker, cred string) (float64, error) {
	text, err := b.client.Metrics(ctx)
	if err != nil {
		return 0, err
	}
	prefix := metrics.NameExchangeDuration + `_sum{credential="` + cred + `"`
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", strings.TrimSpace(line), err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("no %s for %q in the metrics", metrics.NameExchangeDuration, cred)
}
