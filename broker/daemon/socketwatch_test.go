package daemon

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// TestSocketWatchStopsRun: the in-process daemon returns ErrSocketGone
// from Run when its socket file is deleted.
func TestSocketWatchStopsRun(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	if err := os.Remove(b.sock); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.done:
		if !errors.Is(err, ErrSocketGone) {
			t.Fatalf("Run = %v, want ErrSocketGone", err)
		}
		b.done <- nil // the harness's close() waits on it
	case <-time.After(15 * time.Second):
		t.Fatal("Run still serving 15 s after its socket file was deleted")
	}
	if _, err := b.client.Health(context.Background()); err == nil {
		t.Error("health answered without a socket file")
	}
}
