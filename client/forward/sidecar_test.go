package forward

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"time"

	"github.com/awf-broker/awf-broker/client"
)

// liveLeases counts the stub's leases that are not revoked.
func (b *stubBroker) liveLeases() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.leases {
		if !l.revoked {
			n++
		}
	}
	return n
}

func TestSidecarWithAPortInUseServesNothingAndHoldsNoLease(t *testing.T) {
	b := newStubBroker(t, "127.0.0.1:9", false)
	// The anthropic port (base+1) is taken; the openai port (base) is free.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	base := taken.Addr().(*net.TCPAddr).Port - 1
	if base < 1 || base+len(api.APIProxyProviders())-1 > 65535 {
		t.Skipf("port %d leaves no room for the sidecar's ports", base+1)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base)); err != nil {
		t.Skipf("port %d is in use by someone else: %v", base, err)
	} else {
		ln.Close()
	}

	var listening []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = RunSidecar(ctx, SidecarConfig{
		Client: client.New(b.sock), Bind: "127.0.0.1", BasePort: base,
		Listening: func(name, _ string, _ net.Addr, _ *url.URL) { listening = append(listening, name) },
	})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "port "+strconv.Itoa(base+1)+" (anthropic)") {
		t.Fatalf("RunSidecar: %v; want the anthropic port's address in use", err)
	}
	if ctx.Err() != nil {
		t.Error("RunSidecar waited for its context instead of failing")
	}
	if len(listening) != 0 {
		t.Errorf("ports announced as serving: %v", listening)
	}
	// The openai port it had opened is closed again.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base))
	if err != nil {
		t.Errorf("the openai port was left open: %v", err)
	} else {
		ln.Close()
	}
	if n := b.liveLeases(); n != 0 {
		t.Errorf("%d leases left behind", n)
	}
}

// A broker that accepts but never answers is, to a sidecar starting up,
// unreachable once --max-wait runs out mid-call (exit 3 from the CLI), the
// same as a broker that is not there.
func TestSidecarStartupWaitOnAWedgedBrokerIsUnreachable(t *testing.T) {
	sock := t.TempDir() + "/wedged.sock"
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	c := client.New(sock)
	defer c.Close()
	_, err = listCredentials(context.Background(), c, 100*time.Millisecond)
	if !client.IsUnreachable(err) || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("listCredentials against a wedged broker: %v, want unreachable: no answer within 100ms", err)
	}
}
