package benchsuite

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/daemon"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/client"
)

// liveBroker is the real daemon, in process, against the --dev fakes.
type liveBroker struct {
	dev    *devenv.Dev
	sock   string
	client *client.Client
	stop   func()
}

// brokerOpts shapes a liveBroker.
type brokerOpts struct {
	lifetime time.Duration
	// hosts are added to every credential's scope ceiling (the suite's
	// own upstreams).
	hosts []string
	// before runs after the fakes start and before the daemon does.
	before func(*devenv.Dev)
	// noWait returns as soon as the socket answers, not once ready.
	noWait bool
}

func startBroker(ctx context.Context, dir string, o brokerOpts) (*liveBroker, error) {
	if o.lifetime == 0 {
		o.lifetime = time.Hour
	}
	sock := filepath.Join(dir, "broker.sock")
	dev, err := devenv.Start(sock, o.lifetime)
	if err != nil {
		return nil, fmt.Errorf("start fakes: %w", err)
	}
	for i := range dev.Config.Credentials {
		dev.Config.Credentials[i].Hosts = append(dev.Config.Credentials[i].Hosts, o.hosts...)
	}
	if o.before != nil {
		o.before(dev)
	}
	d, err := daemon.New(daemon.Options{Config: dev.Config, Lookup: dev.Lookup, Logger: hclog.NewNullLogger(),
		HTTP: provider.NewHTTPClient(provider.HTTPConfig{}), Version: "bench"})
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("daemon: %w", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = d.Run(rctx); close(done) }()
	b := &liveBroker{dev: dev, sock: sock, client: client.New(sock)}
	b.stop = func() { b.client.Close(); cancel(); <-done; dev.Close() }
	if err := waitSocket(ctx, b.client, !o.noWait); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// waitSocket waits until the broker answers (and, with ready, is ready).
func waitSocket(ctx context.Context, c *client.Client, ready bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ready {
			if r, err := c.Ready(ctx); err == nil && r.Ready {
				return nil
			}
		} else if _, err := c.Health(ctx); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker on %s not ready within 20 s", c.Socket())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
