package benchsuite

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/procs"
)

// processes runs the real binaries: the daemon holding many leases, and
// `awf-broker-cli forward` under load, and reads their RSS from /proc.
func (s *suite) processes(ctx context.Context) error {
	var srv servers
	defer srv.close()
	up, err := srv.upstream()
	if err != nil {
		return err
	}
	bd, sock, stop, err := s.brokerProcess(ctx, "procs")
	if err != nil {
		return err
	}
	defer stop()
	c := client.New(sock)
	defer c.Close()
	idle, err := bd.Memory()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := createLeases(ctx, c, s.opts.Leases); err != nil {
		return err
	}
	took := time.Since(start)
	loaded, err := bd.Memory()
	if err != nil {
		return err
	}
	sec := "broker process"
	s.rep.add(Row{Section: sec, Name: "RSS idle, ready", Value: mib(idle.RSS), Unit: "MiB"})
	s.rep.add(Row{Section: sec, Name: fmt.Sprintf("RSS with %d active leases (VmRSS)", s.opts.Leases), Value: mib(loaded.RSS), Unit: "MiB", Counterpart: "idle", CounterValue: mib(idle.RSS), Ratio: ratio(mib(loaded.RSS), mib(idle.RSS))})
	s.rep.add(Row{Section: sec, Name: "peak RSS (VmHWM)", Value: mib(loaded.HWM), Unit: "MiB", Goal: "≤ 40 MiB with 10,000 leases", Pass: pass(mib(loaded.HWM) <= 40 && s.opts.Leases >= 10000)})
	s.rep.add(Row{Section: sec, Name: "lease creations/s (16 callers)", Value: float64(s.opts.Leases) / took.Seconds(), Unit: "/s"})
	return s.forwarderProcess(ctx, sock, up)
}

// brokerProcess runs the real awf-brokerd as a child process against the
// --dev fakes (in this process), configured by benchConfig, and waits
// until it is ready.
func (s *suite) brokerProcess(ctx context.Context, name string) (*procs.Proc, string, func(), error) {
	dir := filepath.Join(s.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", nil, err
	}
	sock := filepath.Join(dir, "broker.sock")
	dev, err := devenv.Start(sock, time.Hour)
	if err != nil {
		return nil, "", nil, fmt.Errorf("fakes: %w", err)
	}
	benchConfig(dev.Config, s.opts.Leases)
	cfg := filepath.Join(dir, "broker.hcl")
	if err := os.WriteFile(cfg, []byte(dev.HCL()), 0o600); err != nil {
		dev.Close()
		return nil, "", nil, err
	}
	bd, err := procs.Start(s.bins.Daemon, []string{"--config", cfg, "--log-level", "warn"}, dev.Environ())
	if err != nil {
		dev.Close()
		return nil, "", nil, err
	}
	stop := func() { _ = bd.Stop(10 * time.Second); dev.Close() }
	c := client.New(sock)
	defer c.Close()
	if err := waitSocket(ctx, c, true); err != nil {
		stop()
		return nil, "", nil, fmt.Errorf("%w\n%s", err, bd.Output())
	}
	return bd, sock, stop, nil
}

// benchConfig adapts the --dev config to the bench: 127.0.0.1 (any port,
// where the bench's upstreams listen) added to every credential's hosts,
// and a lease quota that lets this uid hold the leases the process step
// creates, with room for the other steps' leases.
func benchConfig(cfg *config.Config, leases int) {
	for i := range cfg.Credentials {
		cfg.Credentials[i].Hosts = append(cfg.Credentials[i].Hosts, "127.0.0.1")
	}
	cfg.Limits.LeasesPerUID = max(cfg.Limits.LeasesPerUID, leases+1024)
}

// createLeases creates n leases from 16 callers.
func createLeases(ctx context.Context, c *client.Client, n int) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "bench"}); err != nil {
					first.CompareAndSwap(nil, errBox{err})
					return
				}
			}
		}()
	}
	wg.Wait()
	if e, ok := first.Load().(errBox); ok {
		return fmt.Errorf("create leases: %w", e.err)
	}
	return nil
}

// forwarderProcess starts `awf-broker-cli forward`, times its first served
// request, loads it with 32 concurrent clients and reads its RSS.
func (s *suite) forwarderProcess(ctx context.Context, sock, up string) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	base := "http://" + addr
	p := newPoster()
	defer p.hc.CloseIdleConnections()
	start := time.Now()
	fp, err := procs.Start(s.bins.CLI, []string{"--socket", sock, "forward", "--listen", addr, "--credential", "anthropic", "--upstream", up}, nil)
	if err != nil {
		return err
	}
	defer fp.Stop(10 * time.Second)
	var firstServed time.Duration
	for {
		if err := p.post(ctx, base, false); err == nil {
			firstServed = time.Since(start)
			break
		}
		select {
		case <-fp.Done():
			return fmt.Errorf("forwarder exited: %s", fp.Output())
		default:
		}
		if time.Since(start) > 20*time.Second {
			return fmt.Errorf("forwarder never served: %s", fp.Output())
		}
		time.Sleep(time.Millisecond)
	}
	idle, err := fp.Memory()
	if err != nil {
		return err
	}
	res, err := measure(ctx, 32, 2*s.opts.Duration, target{call: tiny(func(ctx context.Context) error { return p.post(ctx, base, false) })})
	if err != nil {
		return err
	}
	loaded, err := fp.Memory()
	if err != nil {
		return err
	}
	if err := s.check("forwarder process", res); err != nil {
		return err
	}
	sec := "forwarder process"
	ms := float64(firstServed) / float64(time.Millisecond)
	s.rep.add(Row{Section: sec, Name: "process start to first served request", Value: ms, Unit: "ms", Goal: "≤ 50 ms (includes exec and lease)", Pass: pass(ms <= 50)})
	s.rep.add(Row{Section: sec, Name: "RSS after the first request", Value: mib(idle.RSS), Unit: "MiB"})
	s.rep.add(Row{Section: sec, Name: "throughput, 32 concurrent", Value: res.Rate(), Unit: "/s"})
	s.rep.add(Row{Section: sec, Name: "peak RSS under load (VmHWM)", Value: mib(loaded.HWM), Unit: "MiB", Counterpart: "after first request", CounterValue: mib(idle.RSS), Ratio: ratio(mib(loaded.HWM), mib(idle.RSS)),
		Goal: "≤ 25 MiB", Pass: pass(mib(loaded.HWM) <= 25)})
	return nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
