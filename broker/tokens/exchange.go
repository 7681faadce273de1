package tokens

import (
	"context"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// Audit log keys.
const (
	keyCredential = "credential"
	keyProvider   = "provider"
	keyOutcome    = "outcome"
	keyDuration   = "duration"
	keyExpiresIn  = "expires_in"
	keyRequestID  = "request_id"
	keyError      = "error"
	keyRetryIn    = "retry_in"
)

// exchange runs one exchange and publishes its outcome.
func (c *Credential) exchange(ctx context.Context, f *flight, gen uint64) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	start := c.cfg.Clock.Now()
	tok, err := c.cfg.Exchanger.Exchange(ctx, c.cfg.Subject)
	cancel()
	received := c.cfg.Clock.Now()
	if err == nil && c.cfg.Generation != nil && c.cfg.Generation() != gen {
		err = &provider.Error{Kind: provider.Transient, Op: "exchange", Detail: "identity changed during the exchange; token discarded"}
	}

	c.mu.Lock()
	var retryIn time.Duration
	if err == nil {
		e := &Entry{Token: tok, ReceivedAt: received, Generation: gen}
		if tok.Lifetime > 0 {
			e.ExpiresAt = received.Add(tok.Lifetime)
			e.ServeUntil = received.Add(ServeFor(tok.Lifetime))
			c.nextRefresh = received.Add(RefreshAfter(tok.Lifetime))
		}
		c.entry.Store(e)
		c.lastErr, c.lastCode, c.permanent, c.attempt = nil, "", false, 0
		c.refreshes++
		c.lastRefresh = received
	} else {
		c.failures++
		c.lastErr, c.lastCode = err, errorCode(err)
		c.permanent = provider.IsPermanent(err)
		base, ceil := TransientBase, TransientCap
		if c.permanent {
			base, ceil = PermanentBase, PermanentCap
		}
		retryIn = Backoff(c.attempt, base, ceil, c.cfg.Rand)
		if pe, ok := provider.AsError(err); ok && pe.RetryAfter > retryIn {
			retryIn = min(pe.RetryAfter, ceil)
		}
		c.attempt++
		c.nextRefresh = received.Add(retryIn)
	}
	f.err = err
	c.inflight = nil
	close(f.done)
	c.broadcastLocked()
	c.mu.Unlock()

	c.audit(tok, err, received.Sub(start), retryIn)
	c.wake()
	c.notify()
}

func (c *Credential) audit(tok provider.Token, err error, d, retryIn time.Duration) {
	if err == nil {
		c.log.Info("exchange", keyCredential, c.cfg.Name, keyProvider, c.cfg.Provider,
			keyOutcome, "ok", keyDuration, d, keyExpiresIn, tok.Lifetime, keyRequestID, tok.RequestID)
		return
	}
	var reqID string
	if pe, ok := provider.AsError(err); ok {
		reqID = pe.RequestID
	}
	c.log.Warn("exchange", keyCredential, c.cfg.Name, keyProvider, c.cfg.Provider,
		keyOutcome, "error", keyDuration, d, keyRequestID, reqID, keyError, err.Error(), keyRetryIn, retryIn)
}
