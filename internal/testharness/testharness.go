// Package testharness holds the helpers the black-box tests of the
// daemon, the server and the forwarder share: waiting on a condition
// rather than sleeping, and an HTTP client for a unix socket. It is for
// tests only.
package testharness

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// Eventually reports whether cond reports true within timeout, checking
// it at once and then at intervals growing from 100 µs to 10 ms. It waits
// on a state; it is not a sleep. For a wait whose failure the caller
// explains itself (with a process's output, say); WaitFor fails the test.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for pause := 100 * time.Microsecond; !cond(); pause = min(2*pause, 10*time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
	return true
}

// WaitFor waits until cond reports true, as Eventually does, and fails the
// test after timeout with what it was waiting for.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// UnixClient returns an HTTP client whose every connection goes to the
// unix socket at sock (the URL's host is ignored).
func UnixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}
