package benchsuite

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/internal/procs"
)

// workload measures the agents' real workload (DESIGN §9) at 1 and 16
// concurrent: direct, the naive reference (its proxy and stub broker each
// a process) and `awf-broker-cli forward` with awf-brokerd, interleaved in
// rounds, with the CPU time of each target's two processes from /proc.
func (s *suite) workload(ctx context.Context) error {
	if len(s.opts.StubBroker) == 0 || len(s.opts.NaiveProxy) == 0 || len(s.opts.RawRelay) == 0 {
		return fmt.Errorf("the workload needs the naive reference and the raw relay as processes (Options.StubBroker, NaiveProxy and RawRelay)")
	}
	var srv servers
	defer srv.close()
	up, err := srv.sseUpstream(s.opts.WorkloadEvents)
	if err != nil {
		return err
	}
	stubSock := filepath.Join(s.dir, "stub.sock")
	stubProc, err := s.startStubProc(ctx, stubSock)
	if err != nil {
		return err
	}
	defer stubProc.Stop(5 * time.Second)
	p := newStreamPoster(s.opts.WorkloadEvents)
	defer p.hc.CloseIdleConnections()

	naiveAddr, err := freePort()
	if err != nil {
		return err
	}
	naiveProc, err := procs.Start(s.opts.NaiveProxy[0], append(slices.Clone(s.opts.NaiveProxy[1:]), naiveAddr, up, stubSock), nil)
	if err != nil {
		return err
	}
	defer naiveProc.Stop(5 * time.Second)
	naive := "http://" + naiveAddr
	if err := waitServing(naive, naiveProc, func() error { _, err := p.post(ctx, naive, false); return err }); err != nil {
		return err
	}

	relayAddr, err := freePort()
	if err != nil {
		return err
	}
	relayProc, err := procs.Start(s.opts.RawRelay[0], append(slices.Clone(s.opts.RawRelay[1:]), relayAddr, strings.TrimPrefix(up, "http://")), nil)
	if err != nil {
		return err
	}
	defer relayProc.Stop(5 * time.Second)
	relay := "http://" + relayAddr
	if err := waitServing(relay, relayProc, func() error { _, err := p.post(ctx, relay, true); return err }); err != nil {
		return err
	}

	bd, sock, stopBroker, err := s.brokerProcess(ctx, "workload-broker")
	if err != nil {
		return err
	}
	defer stopBroker()
	fwdAddr, err := freePort()
	if err != nil {
		return err
	}
	fp, err := procs.Start(s.bins.CLI, []string{"--socket", sock, "forward", "--listen", fwdAddr, "--credential", "anthropic", "--upstream", up}, s.opts.ForwarderEnv)
	if err != nil {
		return err
	}
	defer fp.Stop(10 * time.Second)
	fwd := "http://" + fwdAddr
	if err := waitServing(fwd, fp, func() error { _, err := p.post(ctx, fwd, false); return err }); err != nil {
		return err
	}

	to := func(base string, direct bool, pids ...int) target {
		return target{call: func(ctx context.Context) (time.Duration, error) { return p.post(ctx, base, direct) }, pids: pids}
	}
	targets := []target{
		to(up, true),
		to(naive, false, naiveProc.Pid(), stubProc.Pid()),
		to(fwd, false, fp.Pid(), bd.Pid()),
		to(relay, true, relayProc.Pid()), // raw bytes: the client carries the bearer
	}
	if s.opts.BaselineCLI != "" {
		// The same broker behind an earlier forwarder build, for before/after rows.
		addr, err := freePort()
		if err != nil {
			return err
		}
		bp, err := procs.Start(s.opts.BaselineCLI, []string{"--socket", sock, "forward", "--listen", addr, "--credential", "anthropic", "--upstream", up}, s.opts.ForwarderEnv)
		if err != nil {
			return err
		}
		defer bp.Stop(10 * time.Second)
		if err := waitServing("http://"+addr, bp, func() error { _, err := p.post(ctx, "http://"+addr, false); return err }); err != nil {
			return err
		}
		targets = append(targets, to("http://"+addr, false, bp.Pid(), bd.Pid()))
	}
	for _, conc := range []int{1, 16} {
		rs, err := interleaved(ctx, conc, 3*s.opts.Duration, targets...)
		if err != nil {
			return err
		}
		direct, nv, fw, rel := rs[0], rs[1], rs[2], rs[3]
		if err := s.check("workload", direct, nv, fw, rel); err != nil {
			return fmt.Errorf("%w\nnaive: %s\nforwarder: %s", err, naiveProc.Output(), fp.Output())
		}
		s.workloadRows(conc, direct, nv, fw, rel)
		if len(rs) == 5 {
			if err := s.check("workload baseline", rs[4]); err != nil {
				return err
			}
			s.beforeAfterRows(conc, direct, rs[4], fw)
		}
	}
	return nil
}

// workloadRows reports one concurrency level of the workload.
func (s *suite) workloadRows(conc int, direct, nv, fw, rel Result) {
	sec := fmt.Sprintf("workload c=%d", conc)
	s.rep.add(Row{Section: sec, Name: fmt.Sprintf("direct calls (80 KB up, %d SSE events down)", s.opts.WorkloadEvents), Value: direct.Rate(), Unit: "/s"})
	s.rep.add(Row{Section: sec, Name: "naive reference throughput", Value: nv.Rate(), Unit: "/s", Counterpart: "direct", CounterValue: direct.Rate(), Ratio: ratio(nv.Rate(), direct.Rate())})
	s.rep.add(Row{Section: sec, Name: "forwarder + broker throughput", Value: fw.Rate(), Unit: "/s", Counterpart: "naive", CounterValue: nv.Rate(), Ratio: ratio(fw.Rate(), nv.Rate())})
	addFw, addNv := micros(fw.P50-direct.P50), micros(nv.P50-direct.P50)
	row := Row{Section: sec, Name: "forwarder added p50", Value: addFw, Unit: "µs", Counterpart: "naive added", CounterValue: addNv, Ratio: ratio(addFw, addNv)}
	if conc == 1 {
		row.Goal, row.Pass = "≤ 0.7× naive's", pass(addFw <= 0.7*addNv)
	}
	s.rep.add(row)
	addFw99, addNv99 := micros(fw.P99-direct.P99), micros(nv.P99-direct.P99)
	s.rep.add(Row{Section: sec, Name: "forwarder added p99", Value: addFw99, Unit: "µs", Counterpart: "naive added", CounterValue: addNv99, Ratio: ratio(addFw99, addNv99)})
	s.rep.add(Row{Section: sec, Name: "direct first streamed byte p50", Value: micros(direct.TTFB50), Unit: "µs"})
	fb, nb := micros(fw.TTFB50), micros(nv.TTFB50)
	s.rep.add(Row{Section: sec, Name: "forwarder first streamed byte p50", Value: fb, Unit: "µs", Counterpart: "naive", CounterValue: nb, Ratio: ratio(fb, nb),
		Goal: "no later than naive", Pass: pass(fb <= nb)})
	fc, nc := micros(fw.CPUPerRequest()), micros(nv.CPUPerRequest())
	s.rep.add(Row{Section: sec, Name: "CPU per request, forwarder + broker processes", Value: fc, Unit: "µs", Counterpart: "naive's 2 processes", CounterValue: nc, Ratio: ratio(fc, nc),
		Goal: "≤ 0.6× naive's", Pass: pass(fc <= 0.6*nc)})
	// The floor of any one-hop proxy that asks a separate broker: the raw
	// relay's bytes plus the stub broker's constant answer. A CPU goal
	// below it cannot be met by relaying at all.
	rc := micros(rel.CPUPerRequest())
	s.rep.add(Row{Section: sec, Name: "CPU per request, raw TCP relay process", Value: rc, Unit: "µs", Counterpart: "naive's 2 processes", CounterValue: nc, Ratio: ratio(rc, nc)})
	if len(nv.CPUEach) == 2 {
		floor := rc + micros(nv.CPUEach[1])/float64(max(nv.N-nv.Errors, 1))
		s.rep.add(Row{Section: sec, Name: "CPU per request, raw relay + stub broker (the floor)", Value: floor, Unit: "µs", Counterpart: "naive's 2 processes", CounterValue: nc, Ratio: ratio(floor, nc)})
	}
	s.rep.add(Row{Section: sec, Name: "raw relay added p50", Value: micros(rel.P50 - direct.P50), Unit: "µs", Counterpart: "naive added", CounterValue: micros(nv.P50 - direct.P50), Ratio: ratio(micros(rel.P50-direct.P50), micros(nv.P50-direct.P50))})
	s.rep.add(Row{Section: sec, Name: "raw relay first streamed byte p50", Value: micros(rel.TTFB50), Unit: "µs", Counterpart: "naive", CounterValue: micros(nv.TTFB50), Ratio: ratio(micros(rel.TTFB50), micros(nv.TTFB50))})
	if len(fw.CPUEach) == 2 && len(nv.CPUEach) == 2 {
		per := func(r Result, i int) float64 { return micros(r.CPUEach[i]) / float64(max(r.N-r.Errors, 1)) }
		s.rep.add(Row{Section: sec, Name: "CPU per request, forwarder process", Value: per(fw, 0), Unit: "µs", Counterpart: "naive proxy", CounterValue: per(nv, 0), Ratio: ratio(per(fw, 0), per(nv, 0))})
		s.rep.add(Row{Section: sec, Name: "CPU per request, broker process", Value: per(fw, 1), Unit: "µs", Counterpart: "stub broker", CounterValue: per(nv, 1), Ratio: ratio(per(fw, 1), per(nv, 1))})
	}
}

// beforeAfterRows compares the forwarder with Options.BaselineCLI's, both
// in front of the same broker, measured in the same rounds.
func (s *suite) beforeAfterRows(conc int, direct, before, after Result) {
	sec := fmt.Sprintf("before/after c=%d", conc)
	b, a := micros(before.P50-direct.P50), micros(after.P50-direct.P50)
	s.rep.add(Row{Section: sec, Name: "added p50, this build", Value: a, Unit: "µs", Counterpart: "baseline", CounterValue: b, Ratio: ratio(a, b)})
	b, a = micros(before.TTFB50), micros(after.TTFB50)
	s.rep.add(Row{Section: sec, Name: "first streamed byte p50, this build", Value: a, Unit: "µs", Counterpart: "baseline", CounterValue: b, Ratio: ratio(a, b)})
	b, a = micros(before.CPUPerRequest()), micros(after.CPUPerRequest())
	s.rep.add(Row{Section: sec, Name: "CPU per request (forwarder + broker), this build", Value: a, Unit: "µs", Counterpart: "baseline", CounterValue: b, Ratio: ratio(a, b)})
	s.rep.add(Row{Section: sec, Name: "throughput, this build", Value: after.Rate(), Unit: "/s", Counterpart: "baseline", CounterValue: before.Rate(), Ratio: ratio(after.Rate(), before.Rate())})
}

// waitServing waits until call succeeds against base (a process's
// listener), or the process exits.
func waitServing(base string, proc *procs.Proc, call func() error) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := call()
		if err == nil {
			return nil
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("%s exited: %s", base, proc.Output())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s never served: %w\n%s", base, err, proc.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startStubProc runs the stub broker as a process (Options.StubBroker).
func (s *suite) startStubProc(ctx context.Context, sock string) (*procs.Proc, error) {
	p, err := procs.Start(s.opts.StubBroker[0], append(slices.Clone(s.opts.StubBroker[1:]), sock), nil)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			_ = p.Stop(time.Second)
			return nil, fmt.Errorf("stub broker not listening: %s", p.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
