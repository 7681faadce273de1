package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/internal/testlog"
)

// freePort returns a TCP port free on loopback right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// nonLoopbackIPv4 returns an address of this host that is not loopback,
// or "" when there is none.
func nonLoopbackIPv4() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestForwardRouteBindsLoopback: `forward --route PORT=…` with no address
// listens on 127.0.0.1 only (docs/files-and-exposure.md): the line it
// prints names 127.0.0.1, and the port is not reachable on another
// address of the host.
func TestForwardRouteBindsLoopback(t *testing.T) {
	sock, _ := startStub(t)
	port := freePort(t)
	var out, errb testlog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		e := env{stdout: &out, stderr: &errb, getenv: env2(nil), now: time.Now}
		done <- execute(ctx, e, []string{"--socket", sock, "forward", "--route", port + "=anthropic=https://api.anthropic.com"})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "forwarding") {
		select {
		case code := <-done:
			t.Fatalf("forward exited %d before listening: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("forward never listened; stderr:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := "forwarding http://127.0.0.1:" + port + " → https://api.anthropic.com (credential anthropic)\n"
	if out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if ip := nonLoopbackIPv4(); ip != "" {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), 2*time.Second); err == nil {
			c.Close()
			t.Errorf("the route's port answers on %s: it listens beyond loopback", ip)
		}
	} else {
		t.Log("no non-loopback address on this host; checked the bound address only")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("forward did not stop")
	}
}
