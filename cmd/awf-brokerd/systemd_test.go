package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestWatchdogPingsOnlyWhenHealthy: READY=1 waits for the first round, and
// no WATCHDOG=1 is sent while the health check fails.
func TestWatchdogPingsOnlyWhenHealthy(t *testing.T) {
	n := newNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", n.path)
	t.Setenv("WATCHDOG_USEC", "40000")
	var calls atomic.Int64
	const failing = 5
	check := func(context.Context) error {
		if calls.Add(1) <= failing {
			return errors.New("socket does not answer")
		}
		return nil
	}
	first := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); notifier{log: hclog.NewNullLogger()}.run(ctx, first, check) }()
	defer func() { cancel(); <-done }()

	select {
	case m := <-n.msgs:
		t.Fatalf("%q before the first round ended", m)
	default:
	}
	close(first)
	if m := <-n.msgs; m != "READY=1\nSTATUS=serving" {
		t.Fatalf("first message %q", m)
	}
	if m := <-n.msgs; m != "WATCHDOG=1" {
		t.Fatalf("second message %q", m)
	}
	if c := calls.Load(); c <= failing {
		t.Fatalf("pinged after %d checks, %d of which failed", c, failing)
	}
}
