package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeFiresInOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	a := f.NewTimer(2 * time.Minute)
	b := f.NewTimer(time.Minute)
	c := f.NewTimer(time.Hour)
	if !c.Stop() {
		t.Fatal("Stop on a pending timer should report true")
	}
	f.Advance(3 * time.Minute)
	if got := <-b.C(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("b fired at %v", got)
	}
	if got := <-a.C(); !got.Equal(start.Add(2 * time.Minute)) {
		t.Errorf("a fired at %v", got)
	}
	if a.Stop() {
		t.Error("Stop on a fired timer should report false")
	}
	if f.Pending() != 0 {
		t.Errorf("pending = %d", f.Pending())
	}
	if !f.Now().Equal(start.Add(3 * time.Minute)) {
		t.Errorf("now = %v", f.Now())
	}
}

func TestWaitForTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	go func() { f.NewTimer(time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d, ok := f.NextTimer(); !ok || d != time.Second {
		t.Fatalf("NextTimer = %v %v", d, ok)
	}
}
