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
	grants, err := grantCalls(ctx, b)
	if err != nil {
		return err
	}
	triv := client.New(trivSock)
	defer triv.Close()
	for _, conc := range []int{1, 32} {
		echoCall, closeEcho, err := echoCaller(echoSock, conc)
		if err != nil {
			return err
		}
		ts := []target{{call: tiny(echoCall)}, {call: tiny(func(ctx context.Context) error { _, err := triv.Health(ctx); return err })}}
		for _, g := range grants {
			ts = append(ts, target{call: tiny(g.call)})
		}
		rs, err := interleaved(ctx, conc, 3*s.opts.Duration/2, ts...)
		closeEcho()
		if err != nil {
			return err
		}
		echo, floor := rs[0], rs[1]
		if err := s.check("floors", echo, floor); err != nil {
			return err
		}
		sec := fmt.Sprintf("grants c=%d", conc)
		s.rep.add(Row{Section: sec, Name: "raw unix echo round trip p50 (the floor)", Value: micros(echo.P50), Unit: "µs"})
		s.rep.add(Row{Section: sec, Name: "trivial handler p50", Value: micros(floor.P50), Unit: "µs", Counterpart: "echo", CounterValue: micros(echo.P50), Ratio: ratio(micros(floor.P50), micros(echo.P50))})
		for i, g := range grants {
			grant := rs[2+i]
			if err := s.check("grants on "+g.credential, grant); err != nil {
				return err
			}
			name := "header grant (" + g.credential + ")"
			s.rep.add(Row{Section: sec, Name: name + " p50", Value: micros(grant.P50), Unit: "µs", Counterpart: "echo", CounterValue: micros(echo.P50), Ratio: ratio(micros(grant.P50), micros(echo.P50))})
			s.rep.add(Row{Section: sec, Name: name + " p99", Value: micros(grant.P99), Unit: "µs", Counterpart: "trivial p99", CounterValue: micros(floor.P99), Ratio: ratio(micros(grant.P99), micros(floor.P99))})
			r := ratio(grant.Rate(), floor.Rate())
			s.rep.add(Row{Section: sec, Name: name + " grants/s", Value: grant.Rate(), Unit: "/s", Counterpart: "trivial handler", CounterValue: floor.Rate(), Ratio: r,
				Goal: "≥ 0.6× trivial handler", Pass: pass(r >= 0.6)})
		}
	}
	return nil
}

// grantCredentials are the credentials whose header grants are measured:
// one line per provider added to the --dev config (its request URL is
// built from the credential's first host).
func grantCredentials() []string { return []string{"anthropic", "anthropic-key"} }

// grantCall is one credential's header request under a fresh lease.
type grantCall struct {
	credential string
	call       func(context.Context) error
}

func grantCalls(ctx context.Context, b *liveBroker) ([]grantCall, error) {
	var out []grantCall
	for _, name := range grantCredentials() {
		var host string
		for _, c := range b.dev.Config.Credentials {
			if c.Name == name && len(c.Hosts) > 0 {
				host = c.Hosts[0]
			}
		}
		if host == "" {
			return nil, fmt.Errorf("grants: no credential %q with hosts in the dev config", name)
		}
		l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: name})
		if err != nil {
			return nil, fmt.Errorf("lease on %s: %w", name, err)
		}
		req := &api.HeadersRequest{Method: "POST", URL: "https://" + host + "/v1/messages",
			Headers: map[string]string{"anthropic-beta": "tools-2024", "content-type": "application/json"},
			// Signing credentials (needs_body_sha256) need the body's hash.
			BodySHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
		if !l.NeedsBodySHA256 {
			req.BodySHA256 = ""
		}
		out = append(out, grantCall{name, func(ctx context.Context) error { _, err := b.client.Headers(ctx, l.ID, l.Secret, req); return err }})
	}
	return out, nil
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
