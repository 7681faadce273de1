package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
)

func next(t *testing.T, s *Subscription) api.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

func TestOrderAndNumbers(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	b := New(Config{Clock: clock.NewFake(t0)})
	s, err := b.Subscribe(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	types := []string{api.EventLeaseCreated, api.EventLeaseRenewed, api.EventLeaseRevoked}
	for _, typ := range types {
		b.Publish(api.Event{Type: typ, Lease: "l1"})
	}
	for i, typ := range types {
		ev := next(t, s)
		if ev.Seq != uint64(i+1) || ev.Type != typ || !ev.Time.Equal(t0) {
			t.Fatalf("event %d = %+v, want seq %d type %s at %v", i, ev, i+1, typ, t0)
		}
	}
	if b.Seq() != 3 {
		t.Fatalf("Seq = %d", b.Seq())
	}
}

func TestFilterRunsInSubscriber(t *testing.T) {
	b := New(Config{})
	s, _ := b.Subscribe(0, func(ev api.Event) bool { return ev.Credential == "mine" })
	defer s.Close()
	b.Publish(api.Event{Type: api.EventCredentialState, Credential: "other"})
	b.Publish(api.Event{Type: api.EventCredentialState, Credential: "mine"})
	if ev := next(t, s); ev.Credential != "mine" || ev.Seq != 2 {
		t.Fatalf("got %+v, want seq 2 of credential mine", ev)
	}
}

func TestSince(t *testing.T) {
	b := New(Config{History: 4})
	for range 6 {
		b.Publish(api.Event{Type: api.EventLeaseCreated})
	}
	s, _ := b.Subscribe(3, nil)
	defer s.Close()
	for _, want := range []uint64{4, 5, 6} {
		if ev := next(t, s); ev.Seq != want {
			t.Fatalf("replayed seq %d, want %d", ev.Seq, want)
		}
	}
	b.Publish(api.Event{Type: api.EventLeaseCreated})
	if ev := next(t, s); ev.Seq != 7 {
		t.Fatalf("live seq %d, want 7", ev.Seq)
	}
}

// A subscriber that does not read is dropped once its buffer is full;
// Publish never waits for it and the others keep receiving.
func TestSlowSubscriberDropped(t *testing.T) {
	drops := 0
	b := New(Config{Buffer: 4, OnDrop: func() { drops++ }})
	slow, _ := b.Subscribe(0, nil)
	defer slow.Close()
	fast, _ := b.Subscribe(0, nil)
	defer fast.Close()
	for i := range 10 {
		b.Publish(api.Event{Type: api.EventLeaseCreated})
		if ev := next(t, fast); ev.Seq != uint64(i+1) {
			t.Fatalf("fast got seq %d, want %d", ev.Seq, i+1)
		}
	}
	_, err := slow.Next(context.Background())
	var tooSlow *TooSlowError
	if !errors.As(err, &tooSlow) || tooSlow.Buffer != 4 || err.Error() != "too slow: more than 4 events dropped" {
		t.Fatalf("slow Next = %v, want TooSlowError{4}", err)
	}
	if drops != 1 || b.Subscribers() != 1 {
		t.Fatalf("drops %d, subscribers %d; want 1 and 1", drops, b.Subscribers())
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	b := New(Config{})
	s, _ := b.Subscribe(0, nil)
	done := make(chan error, 1)
	go func() { _, err := s.Next(context.Background()); done <- err }()
	b.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v", err)
	}
	if _, err := b.Subscribe(0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close = %v", err)
	}
	s.Close()
	s.Close()
	b.Wait() // returns: every subscription was closed by its owner
}
