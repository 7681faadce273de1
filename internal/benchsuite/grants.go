package benchsuite

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// grants measures header grants over the socket beside the raw echo round
// trip and a trivial handler on the same socket and HTTP stack.
func (s *suite) grants(ctx context.Context) error {
	var srv servers
	defer srv.close()
	echoSock, trivSock := filepath.Join(s.dir, "echo.sock"), filepath.Join(s.dir, "trivial.sock")
	if err := srv.echo(echoSock); err != nil {
		return err
	}
	if err := srv.trivial(trivSock); err != nil {
		return err
	}
	b, err := startBroker(ctx, s.dir, brokerOpts{})
	if err != nil {
		return err
	}
	defer b.stop()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	req := &api.HeadersRequest{Method: "POST", URL: b.dev.API.URL() + "/v1/messages",
		Headers: map[string]string{"anthropic-beta": "tools-2024", "content-type": "application/json"}}
	triv := client.New(trivSock)
	defer triv.Close()
	for _, conc := range []int{1, 32} {
		echoCall, closeEcho, err := echoCaller(echoSock, conc)
		if err != nil {
			return err
		}
		rs := interleaved(ctx, conc, 3*s.opts.Duration/2, echoCall,
			func(ctx context.Context) error { _, err := triv.Health(ctx); return err },
			func(ctx context.Context) error { _, err := b.client.Headers(ctx, l.ID, l.Secret, req); return err })
		closeEcho()
		echo, floor, grant := rs[0], rs[1], rs[2]
		if err := s.check("grants", grant, floor, echo); err != nil {
			return err
		}
		sec := fmt.Sprintf("grants c=%d", conc)
		s.rep.add(Row{Section: sec, Name: "raw unix echo round trip p50 (the floor)", Value: micros(echo.P50), Unit: "µs"})
		s.rep.add(Row{Section: sec, Name: "trivial handler p50", Value: micros(floor.P50), Unit: "µs", Counterpart: "echo", CounterValue: micros(echo.P50), Ratio: ratio(micros(floor.P50), micros(echo.P50))})
		s.rep.add(Row{Section: sec, Name: "header grant p50", Value: micros(grant.P50), Unit: "µs", Counterpart: "echo", CounterValue: micros(echo.P50), Ratio: ratio(micros(grant.P50), micros(echo.P50))})
		s.rep.add(Row{Section: sec, Name: "header grant p99", Value: micros(grant.P99), Unit: "µs", Counterpart: "trivial p99", CounterValue: micros(floor.P99), Ratio: ratio(micros(grant.P99), micros(floor.P99))})
		r := ratio(grant.Rate(), floor.Rate())
		s.rep.add(Row{Section: sec, Name: "header grants/s", Value: grant.Rate(), Unit: "/s", Counterpart: "trivial handler", CounterValue: floor.Rate(), Ratio: r,
			Goal: "≥ 0.6× trivial handler", Pass: pass(r >= 0.6)})
	}
	return nil
}

// echoCaller returns a call that makes one 256-byte round trip on one of
// conc kept-open connections, and a function closing them.
func echoCaller(sock string, conc int) (func(context.Context) error, func(), error) {
	conns := make(chan net.Conn, conc)
	closeAll := func() {
		for range len(conns) {
			(<-conns).Close()
		}
	}
	for range conc {
		c, err := net.Dial("unix", sock)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("echo: %w", err)
		}
		conns <- c
	}
	return func(context.Context) error {
		c := <-conns
		defer func() { conns <- c }()
		var buf [256]byte
		if _, err := c.Write(buf[:]); err != nil {
			return err
		}
		_, err := io.ReadFull(c, buf[:])
		return err
	}, closeAll, nil
}
