// Package events is the broker's in-process event bus. Publish never
// blocks: each subscription has a bounded buffer, and a subscriber that
// lets it fill is dropped (its Next reports *TooSlowError) rather than
// waited for. The websocket endpoint GET /v1/events feeds on it
// (handler.go).
package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
)

// Defaults of Config.
const (
	// DefaultBuffer is how many events a subscriber may fall behind before
	// it is dropped.
	DefaultBuffer = 256
	// DefaultHistory is how many past events a new subscriber can ask for
	// (Subscribe's since).
	DefaultHistory = 256
)

// ErrClosed is Next's error once the bus or the subscription was closed.
var ErrClosed = errors.New("event stream closed: the broker is stopping")

// TooSlowError is Next's error for a subscriber dropped because its buffer
// was full.
type TooSlowError struct {
	// Buffer is how many undelivered events it had.
	Buffer int
}

func (e *TooSlowError) Error() string {
	return fmt.Sprintf("too slow: more than %d events dropped", e.Buffer)
}

// Config configures a Bus.
type Config struct {
	Clock   clock.Clock // stamps events without a time; default clock.Real()
	Buffer  int         // default DefaultBuffer
	History int         // default DefaultHistory
	// OnDrop, when set, is called (under the bus's lock: it must not call
	// the bus) for every subscriber dropped as too slow.
	OnDrop func()
}

// Bus fans events out to subscribers.
type Bus struct {
	cfg Config
	wg  sync.WaitGroup // open subscriptions

	mu      sync.Mutex
	seq     uint64
	subs    map[*Subscription]struct{}
	history []api.Event // ring of the last cfg.History events
	next    int         // where the ring's next event goes
	closed  bool
}

// New returns a bus.
func New(cfg Config) *Bus {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	return &Bus{cfg: cfg, subs: map[*Subscription]struct{}{}}
}

// Publish numbers ev, stamps it with the time when it has none, and hands
// it to every subscriber without waiting for any; it returns the event as
// sent. Events are delivered in the order of their numbers.
func (b *Bus) Publish(ev api.Event) api.Event {
	if ev.Time.IsZero() {
		ev.Time = b.cfg.Clock.Now()
	}
	ev.Time = ev.Time.UTC()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ev
	}
	b.seq++
	ev.Seq = b.seq
	if len(b.history) < b.cfg.History {
		b.history = append(b.history, ev)
	} else {
		b.history[b.next] = ev
	}
	b.next = (b.next + 1) % b.cfg.History
	for s := range b.subs {
		select {
		case s.c <- ev:
		default:
			b.dropLocked(s, &TooSlowError{Buffer: b.cfg.Buffer})
			if b.cfg.OnDrop != nil {
				b.cfg.OnDrop()
			}
		}
	}
	return ev
}

// Subscribe opens a subscription. With since > 0 it first receives the
// retained events numbered above since (the last History events at most).
// keep, when set, filters the events; it runs in the subscriber's
// goroutine (Next), never in Publish, so it may take locks freely.
func (b *Bus) Subscribe(since uint64, keep func(api.Event) bool) (*Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	s := &Subscription{b: b, keep: keep, c: make(chan api.Event, b.cfg.Buffer)}
	if since > 0 {
		for i := range b.history {
			ev := b.history[(b.next+i)%len(b.history)]
			if ev.Seq <= since {
				continue
			}
			select {
			case s.c <- ev:
			default: // more than a buffer behind: keep the newest that fit
			}
		}
	}
	b.subs[s] = struct{}{}
	b.wg.Add(1)
	return s, nil
}

// Seq returns the number of the last event published.
func (b *Bus) Seq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Subscribers counts the open subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every subscription (their Next reports ErrClosed) and refuses
// new ones; later events are dropped.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.dropLocked(s, ErrClosed)
	}
}

// Wait waits until every subscription has been closed by its owner.
func (b *Bus) Wait() { b.wg.Wait() }

// dropLocked ends s's delivery with err.
func (b *Bus) dropLocked(s *Subscription, err error) {
	delete(b.subs, s)
	if s.err.CompareAndSwap(nil, &errBox{err}) {
		close(s.c)
	}
}

// Subscription is one subscriber's stream. Next and Close may be called
// from different goroutines; Next from one at a time.
type Subscription struct {
	b    *Bus
	keep func(api.Event) bool
	c    chan api.Event
	err  atomic.Pointer[errBox] // set once, before c is closed
	once sync.Once
}

type errBox struct{ err error }

// Next returns the next event the subscription keeps. It fails with
// *TooSlowError as soon as the subscriber has been dropped (even with
// events still buffered), with ErrClosed once closed, or with ctx's error.
func (s *Subscription) Next(ctx context.Context) (api.Event, error) {
	for {
		if e := s.err.Load(); e != nil {
			if _, slow := e.err.(*TooSlowError); slow {
				return api.Event{}, e.err
			}
		}
		select {
		case ev, ok := <-s.c:
			if !ok {
				return api.Event{}, s.err.Load().err
			}
			if s.keep == nil || s.keep(ev) {
				return ev, nil
			}
		case <-ctx.Done():
			return api.Event{}, ctx.Err()
		}
	}
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.b.mu.Lock()
		s.b.dropLocked(s, ErrClosed)
		s.b.mu.Unlock()
		s.b.wg.Done()
	})
}
