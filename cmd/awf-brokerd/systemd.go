package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
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
// until ctx ends.
func (n notifier) run(ctx context.Context, firstRound <-chan struct{}) {
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
