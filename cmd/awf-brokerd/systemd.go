package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/client"
)

// inheritedListener returns the listening socket systemd passed (LISTEN_FDS,
// LISTEN_PID), or nil when there is none. It clears the LISTEN_*
// variables so no child inherits them. More than one socket is an error:
// the units pass exactly one.
func inheritedListener() (net.Listener, error) {
	ls, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	var out []net.Listener
	for _, l := range ls {
		if l != nil {
			out = append(out, l)
		}
	}
	switch {
	case len(out) == 0 && len(ls) > 0:
		return nil, fmt.Errorf("socket activation: the %d inherited descriptor(s) are not listening stream sockets", len(ls))
	case len(out) > 1:
		for _, l := range out {
			l.Close()
		}
		return nil, fmt.Errorf("socket activation: %d listening sockets inherited, want one", len(out))
	case len(out) == 1:
		return out[0], nil
	}
	return nil, nil
}

// notifier speaks sd_notify to systemd; without NOTIFY_SOCKET it does
// nothing.
type notifier struct {
	log hclog.Logger
}

func (n notifier) send(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		n.log.Warn("sd_notify failed", "state", state, "error", err)
	}
}

// ready tells systemd the daemon is up once the first exchange round has
// ended (success or not), then pings the watchdog at half of WatchdogSec
// until ctx ends, each time only if check passes: a daemon whose socket no
// longer answers misses its pings and systemd restarts it.
func (n notifier) run(ctx context.Context, firstRound <-chan struct{}, check func(context.Context) error) {
	select {
	case <-firstRound:
		n.send(sd.SdNotifyReady + "\nSTATUS=serving")
	case <-ctx.Done():
		return
	}
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("watchdog settings unreadable; not pinging", "error", err)
		return
	}
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, interval/4)
			err := check(cctx)
			cancel()
			if err != nil {
				n.log.Warn("health check failed; not pinging the watchdog", "error", err)
				continue
			}
			n.send(sd.SdNotifyWatchdog)
		}
	}
}

// reloading and reloaded frame a reload (systemd waits for READY=1).
func (n notifier) reloading() {
	n.send(sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec())
}

func (n notifier) reloaded(status string) {
	n.send(sd.SdNotifyReady + "\nSTATUS=" + status)
}

func (n notifier) stopping() { n.send(sd.SdNotifyStopping) }

// healthCheck asks the daemon's own socket for /v1/health over a new
// connection, as a client would.
func healthCheck(sock string) func(context.Context) error {
	return func(ctx context.Context) error {
		c := client.New(sock)
		defer c.Close()
		_, err := c.Health(ctx)
		return err
	}
}
