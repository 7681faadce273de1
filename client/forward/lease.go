package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// leaseState is one lease as the forwarder holds it. The pointer stays the
// same across renewals, so a request that saw the lease fail can drop
// exactly the lease it used.
type leaseState struct {
	id       string
	secret   string // never logged
	needsSHA bool
	ttl      time.Duration
	expires  atomic.Int64 // the broker's expires_at, unix nanoseconds
}

func (s *leaseState) expiresAt() time.Time { return time.Unix(0, s.expires.Load()).UTC() }

var (
	errRevoked = errors.New("lease revoked by the broker; restart the forwarder")
	errClosed  = errors.New("forwarder is closed")
)

// leaseKeeper acquires, renews and re-acquires the forwarder's lease. Requests
// read the current lease with one atomic load; only the keeper's loop talks
// to the broker about the lease itself.
type leaseKeeper struct {
	b broker
	// req is what acquire asks for; only the keeper's loop (and Start,
	// before it) reads or changes it.
	req      api.CreateLeaseRequest
	renewTTL string
	log      *slog.Logger
	now      func() time.Time

	cur     atomic.Pointer[leaseState]
	revoked atomic.Bool
	kick    chan struct{} // buffered(1): a request found the lease gone

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the lease changes
	lastErr error         // why there is no lease
	closed  bool
}

func newLeaseKeeper(b broker, req api.CreateLeaseRequest, renewTTL string, log *slog.Logger, now func() time.Time) *leaseKeeper {
	return &leaseKeeper{
		b: b, req: req, renewTTL: renewTTL, log: log, now: now,
		kick:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
}

// broadcast wakes every request waiting for a lease; call with mu held.
func (k *leaseKeeper) broadcast() {
	close(k.changed)
	k.changed = make(chan struct{})
}

func (k *leaseKeeper) publish(s *leaseState) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	k.cur.Store(s)
	k.lastErr = nil
	k.broadcast()
}

// drop forgets s (if it is still current) because err says it is gone, and
// asks the loop to acquire a new one.
func (k *leaseKeeper) drop(s *leaseState, err error) {
	if !k.cur.CompareAndSwap(s, nil) {
		return
	}
	k.mu.Lock()
	k.lastErr = err
	k.mu.Unlock()
	k.log.Info("lease lost; acquiring a new one", "lease", s.id, "error", err)
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

func (k *leaseKeeper) setRevoked() {
	if k.revoked.Swap(true) {
		return
	}
	k.mu.Lock()
	s := k.cur.Swap(nil)
	k.lastErr = errRevoked
	k.broadcast()
	k.mu.Unlock()
	id := ""
	if s != nil {
		id = s.id
	}
	k.log.Error("lease revoked by the broker; answering 503 until restarted", "lease", id)
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

func (k *leaseKeeper) setErr(err error) {
	k.mu.Lock()
	k.lastErr = err
	k.mu.Unlock()
}

// close stops handing out the lease and returns the one held, if any.
func (k *leaseKeeper) close() *leaseState {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	k.lastErr = errClosed
	k.broadcast()
	return k.cur.Swap(nil)
}

// status returns the current lease, or nil and why there is none.
func (k *leaseKeeper) status() (*leaseState, error) {
	if s := k.cur.Load(); s != nil {
		return s, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.cur.Load(); s != nil {
		return s, nil
	}
	if k.lastErr == nil {
		return nil, errors.New("no lease acquired yet")
	}
	return nil, k.lastErr
}

// wait returns the current lease, waiting for one until ctx ends.
func (k *leaseKeeper) wait(ctx context.Context) (*leaseState, error) {
	for {
		if s := k.cur.Load(); s != nil {
			return s, nil
		}
		k.mu.Lock()
		s, ch, why, closed := k.cur.Load(), k.changed, k.lastErr, k.closed
		k.mu.Unlock()
		switch {
		case s != nil:
			return s, nil
		case k.revoked.Load():
			return nil, errRevoked
		case closed:
			return nil, errClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if why == nil {
				why = errors.New("no lease acquired yet")
			}
			return nil, fmt.Errorf("waiting for a lease: %w", why)
		}
	}
}

// acquire creates a lease, retrying with backoff until it succeeds or ctx
// ends; with stopOnPermanent it gives up on a refusal retrying cannot fix.
func (k *leaseKeeper) acquire(ctx context.Context, stopOnPermanent bool) (*leaseState, error) {
	for attempt := 0; ; attempt++ {
		if k.revoked.Load() {
			return nil, errRevoked
		}
		cl, err := k.b.CreateLease(ctx, k.req)
		if err == nil && (cl == nil || cl.ID == "" || cl.Secret == "") {
			err = errors.New("broker answered a lease without an id or secret")
		}
		if err == nil {
			s := &leaseState{id: cl.ID, secret: cl.Secret, needsSHA: cl.NeedsBodySHA256, ttl: leaseTTL(&cl.Lease, k.now())}
			s.expires.Store(cl.ExpiresAt.UnixNano())
			k.publish(s)
			k.log.Info("lease acquired", "lease", s.id, "credential", cl.Credential,
				"expires_at", cl.ExpiresAt, "needs_body_sha256", s.needsSHA)
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if k.req.Bind == api.BindProcess && client.IsCode(err, api.CodeProcessNotVisible) {
			// The broker runs in another pid namespace (a DaemonSet
			// without hostPID) and cannot tie a lease to this process:
			// hold a uid-bound lease instead, and say so once.
			k.req.Bind = api.BindUID
			k.log.Warn("the broker cannot see this process (another pid namespace); holding a uid-bound lease instead of a process-bound one",
				"credential", k.req.Credential)
			attempt--
			continue
		}
		err = fmt.Errorf("create lease for credential %q: %w", k.req.Credential, err)
		k.setErr(err)
		if stopOnPermanent && permanent(err) {
			return nil, err
		}
		if attempt == 0 || attempt%10 == 0 {
			k.log.Warn("cannot acquire a lease; retrying", "credential", k.req.Credential, "attempt", attempt+1, "error", err)
		}
		if !sleep(ctx, backoff(attempt, 100*time.Millisecond, 5*time.Second, rand.Float64())) {
			return nil, ctx.Err()
		}
	}
}

// run keeps a lease until ctx ends or the broker revokes it: it renews at
// two thirds of the TTL and acquires a new lease when the old one is gone.
func (k *leaseKeeper) run(ctx context.Context) {
	renewAt := k.now()
	if s := k.cur.Load(); s != nil {
		renewAt = renewAt.Add(renewDelay(s.ttl))
	}
	for ctx.Err() == nil && !k.revoked.Load() {
		s := k.cur.Load()
		if s == nil {
			var err error
			if s, err = k.acquire(ctx, false); err != nil {
				return
			}
			renewAt = k.now().Add(renewDelay(s.ttl))
			continue
		}
		t := time.NewTimer(renewAt.Sub(k.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-k.kick:
			t.Stop()
			continue
		case <-t.C:
		}
		if k.renew(ctx, s) {
			renewAt = k.now().Add(renewDelay(s.ttl))
		}
	}
}

// renew extends s, retrying transient failures until the lease would have
// expired. It reports whether s is still the lease to use.
func (k *leaseKeeper) renew(ctx context.Context, s *leaseState) bool {
	deadline := k.now().Add(s.ttl / 3)
	for attempt := 0; ; attempt++ {
		l, err := k.b.RenewLease(ctx, s.id, k.renewTTL)
		if err == nil && l != nil && !l.ExpiresAt.IsZero() {
			s.expires.Store(l.ExpiresAt.UnixNano())
			k.log.Debug("lease renewed", "lease", s.id, "expires_at", l.ExpiresAt)
			return true
		}
		if err == nil {
			err = errors.New("broker answered a renewal without expires_at")
		}
		if ctx.Err() != nil {
			return false
		}
		err = fmt.Errorf("renew lease %s: %w", s.id, err)
		switch act, _ := classify(err); act {
		case actRevoked:
			k.setRevoked()
			return false
		case actRetry, actGarbage:
			wait := backoff(attempt, 100*time.Millisecond, 2*time.Second, rand.Float64())
			if k.now().Add(wait).Before(deadline) && k.cur.Load() == s {
				k.log.Warn("cannot renew the lease; retrying", "lease", s.id, "attempt", attempt+1, "error", err)
				if !sleep(ctx, wait) {
					return false
				}
				continue
			}
		}
		k.drop(s, err)
		return false
	}
}

// sleep waits for d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
