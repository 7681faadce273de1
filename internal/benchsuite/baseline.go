package benchsuite

import (
	"context"
	"fmt"
	"time"

	"github.com/awf-broker/awf-broker/internal/procs"
)

// baseline compares, on today's tiny Messages calls, `awf-broker-cli
// forward` of this build with Options.BaselineCLI's, both processes in
// front of the same awf-brokerd and measured in the same rounds, so that a
// change to the forwarder shows as a ratio free of the machine's load. It
// does nothing without a baseline.
func (s *suite) baseline(ctx context.Context) error {
	if s.opts.BaselineCLI == "" {
		return nil
	}
	var srv servers
	defer srv.close()
	up, err := srv.upstream()
	if err != nil {
		return err
	}
	_, sock, stopBroker, err := s.brokerProcess(ctx, "baseline-broker")
	if err != nil {
		return err
	}
	defer stopBroker()
	p := newPoster()
	defer p.hc.CloseIdleConnections()
	var bases []string
	for _, cli := range []string{s.bins.CLI, s.opts.BaselineCLI} {
		addr, err := freePort()
		if err != nil {
			return err
		}
		fp, err := procs.Start(cli, []string{"--socket", sock, "forward", "--listen", addr, "--credential", "anthropic", "--upstream", up}, nil)
		if err != nil {
			return err
		}
		defer fp.Stop(10 * time.Second)
		base := "http://" + addr
		if err := waitServing(base, fp, func() error { return p.post(ctx, base, false) }); err != nil {
			return err
		}
		bases = append(bases, base)
	}
	to := func(base string, direct bool) target {
		return target{call: tiny(func(ctx context.Context) error { return p.post(ctx, base, direct) })}
	}
	for _, conc := range []int{1, 32} {
		rs, err := interleaved(ctx, conc, 2*s.opts.Duration, to(up, true), to(bases[0], false), to(bases[1], false))
		if err != nil {
			return err
		}
		direct, after, before := rs[0], rs[1], rs[2]
		if err := s.check("baseline", direct, after, before); err != nil {
			return err
		}
		sec := fmt.Sprintf("before/after tiny c=%d", conc)
		s.rep.add(Row{Section: sec, Name: "forwarder process throughput, this build", Value: after.Rate(), Unit: "/s", Counterpart: "baseline", CounterValue: before.Rate(), Ratio: ratio(after.Rate(), before.Rate())})
		a, b := micros(after.P50-direct.P50), micros(before.P50-direct.P50)
		s.rep.add(Row{Section: sec, Name: "forwarder process added p50, this build", Value: a, Unit: "µs", Counterpart: "baseline", CounterValue: b, Ratio: ratio(a, b)})
	}
	return nil
}
