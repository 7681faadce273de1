package benchsuite

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/daemon"
	"github.com/awf-broker/awf-broker/broker/fake"
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
	b, err := startBroker(ctx, s.dir, brokerOpts{noWait: true, before: func(d *daemon.Dev) {
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
	s.rep.add(Row{Section: sec, Name: "time until all served", Value: ms, Unit: "ms", Counterpart: "the exchange itself",
		CounterValue: float64(stampedeExchange) / float64(time.Millisecond), Ratio: ratio(ms, float64(stampedeExchange)/float64(time.Millisecond))})
	return nil
}
