package benchsuite

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/internal/procs"

	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
)

// forwarding measures the real forwarder (in this process) with the real
// broker (awf-brokerd, a child process) beside direct upstream calls, a raw
// TCP relay and the naive reference (its stub broker a child process too
// when Options.StubBroker says how).
func (s *suite) forwarding(ctx context.Context) error {
	var srv servers
	defer srv.close()
	up, err := srv.upstream()
	if err != nil {
		return err
	}
	upURL, _ := url.Parse(up)
	relay, err := srv.relay(upURL.Host)
	if err != nil {
		return err
	}
	stubSock := filepath.Join(s.dir, "stub.sock")
	if stop, err := s.startStub(ctx, &srv, stubSock); err != nil {
		return err
	} else {
		defer stop()
	}
	naive, err := srv.naive(up, stubSock)
	if err != nil {
		return err
	}
	// The broker is a separate process, as in production and as the naive
	// reference's stub broker is.
	_, sock, stopBroker, err := s.brokerProcess(ctx, "forward-broker")
	if err != nil {
		return err
	}
	defer stopBroker()
	fwdURL, stopFwd, err := startForwarder(ctx, sock, upURL)
	if err != nil {
		return err
	}
	defer stopFwd()

	p := newPoster()
	defer p.hc.CloseIdleConnections()
	for _, conc := range []int{1, 32} {
		to := func(base string, direct bool) target {
			return target{call: tiny(func(ctx context.Context) error { return p.post(ctx, base, direct) })}
		}
		rs, err := interleaved(ctx, conc, 2*s.opts.Duration,
			to(up, true), to(relay, true), // raw bytes: the client carries the bearer
			to(naive, false), to(fwdURL, false))
		if err != nil {
			return err
		}
		direct, rel, nv, fw := rs[0], rs[1], rs[2], rs[3]
		if err := s.check("forward", direct, rel, nv, fw); err != nil {
			return err
		}
		sec := fmt.Sprintf("forward c=%d", conc)
		s.rep.add(Row{Section: sec, Name: "direct upstream calls", Value: direct.Rate(), Unit: "/s"})
		for _, r := range []struct {
			name string
			res  Result
		}{{"raw TCP relay", rel}, {"naive reference (ReverseProxy + stub broker)", nv}, {"forwarder + broker", fw}} {
			s.rep.add(Row{Section: sec, Name: r.name + " throughput", Value: r.res.Rate(), Unit: "/s", Counterpart: "direct", CounterValue: direct.Rate(), Ratio: ratio(r.res.Rate(), direct.Rate())})
		}
		rn := ratio(fw.Rate(), nv.Rate())
		s.rep.add(Row{Section: sec, Name: "forwarder vs naive throughput", Value: fw.Rate(), Unit: "/s", Counterpart: "naive", CounterValue: nv.Rate(), Ratio: rn,
			Goal: "≥ 1.0× naive", Pass: pass(rn >= 1.0)})
		rr := ratio(fw.Rate(), rel.Rate())
		s.rep.add(Row{Section: sec, Name: "forwarder vs raw relay throughput", Value: fw.Rate(), Unit: "/s", Counterpart: "relay", CounterValue: rel.Rate(), Ratio: rr,
			Goal: "stretch: ≥ 0.5× relay", Pass: pass(rr >= 0.5)})
		addFw, addNaive, addRelay := micros(fw.P50-direct.P50), micros(nv.P50-direct.P50), micros(rel.P50-direct.P50)
		s.rep.add(Row{Section: sec, Name: "raw relay added p50", Value: addRelay, Unit: "µs", Counterpart: "direct p50", CounterValue: micros(direct.P50), Ratio: ratio(micros(rel.P50), micros(direct.P50))})
		s.rep.add(Row{Section: sec, Name: "naive added p50", Value: addNaive, Unit: "µs", Counterpart: "direct p50", CounterValue: micros(direct.P50), Ratio: ratio(micros(nv.P50), micros(direct.P50))})
		s.rep.add(Row{Section: sec, Name: "forwarder added p50", Value: addFw, Unit: "µs", Counterpart: "naive added", CounterValue: addNaive, Ratio: ratio(addFw, addNaive),
			Goal: "≤ naive's added p50", Pass: pass(addFw <= addNaive)})
	}
	return nil
}

// startForwarder runs the real forwarder in process on a loopback port.
func startForwarder(ctx context.Context, sock string, up *url.URL) (string, func(), error) {
	c := client.New(sock)
	f, err := forward.New(forward.Config{Client: c, Credential: "anthropic", Upstream: up, Label: "bench"})
	if err != nil {
		return "", nil, fmt.Errorf("forwarder: %w", err)
	}
	fctx, cancel := context.WithCancel(ctx)
	if err := f.Start(fctx); err != nil {
		cancel()
		return "", nil, fmt.Errorf("forwarder: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return "", nil, fmt.Errorf("forwarder: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = forward.Serve(fctx, ln, forward.NewServer(f, nil)); close(done) }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done; f.Close(); c.Close() }, nil
}

// startStub runs the stub broker as a separate process when the options
// say how (DESIGN §9 measured it so), in process otherwise.
func (s *suite) startStub(ctx context.Context, srv *servers, sock string) (func(), error) {
	if len(s.opts.StubBroker) == 0 {
		return func() {}, srv.stubBroker(sock)
	}
	p, err := procs.Start(s.opts.StubBroker[0], append(slices.Clone(s.opts.StubBroker[1:]), sock), nil)
	if err != nil {
		return nil, err
	}
	stop := func() { _ = p.Stop(5 * time.Second) }
	c := client.New(sock)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Headers(ctx, "stub", "x", &api.HeadersRequest{Method: "GET", URL: "https://x/"}); err == nil {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("stub broker not answering: %s", p.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
