package tokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// exchangeTimeout bounds one exchange, the provider's own retries included.
// It is a network deadline, so it runs on real time.
const exchangeTimeout = 90 * time.Second

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

// Audit outcomes.
const (
	outcomeOK    = "ok"
	outcomeError = "error"
)

// exchange runs one exchange, started under generation gen and purge
// epoch epoch, and publishes its outcome.
func (c *Credential) exchange(ctx context.Context, f *flight, gen, epoch uint64) {
	defer c.wg.Done()
	xctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	start := c.cfg.Clock.Now()
	tok, err := c.cfg.Exchanger.Exchange(xctx, c.cfg.Subject)
	cancel()
	received := c.cfg.Clock.Now()
	if err == nil && tok.Lifetime < 0 {
		err = fmt.Errorf("exchange returned a negative lifetime (%v)", tok.Lifetime)
	}

	c.mu.Lock()
	var retryIn time.Duration
	switch {
	case c.epoch != epoch || !c.current(gen):
		// The identity changed under the exchange: its token belongs to
		// the previous registration. Exchange again at once.
		err = errors.New("identity changed during the exchange; token discarded")
		c.discarded++
		c.nextRefresh = received
	case err != nil && ctx.Err() != nil:
		// Run is stopping: not the upstream's failure.
		c.discarded++
		c.nextRefresh = received
	case err != nil:
		c.failures++
		perm := provider.IsPermanent(err)
		if c.lastErr == nil || perm != c.permanent {
			c.attempt = 0
		}
		c.lastErr, c.lastCode, c.permanent = err, errorCode(err), perm
		retryIn = RetryDelay(c.attempt, perm, retryAfterOf(err), c.cfg.Rand)
		c.attempt++
		c.nextRefresh = received.Add(retryIn)
	default:
		c.entry.Store(newEntry(tok, received, gen))
		c.lastErr, c.lastCode, c.permanent, c.attempt = nil, "", false, 0
		c.refreshes++
		c.lastRefresh = received
		c.nextRefresh = time.Time{}
		if tok.Lifetime > 0 {
			c.nextRefresh = received.Add(RefreshAfter(tok.Lifetime))
		}
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

// audit writes the one line every exchange gets. The token's value never
// goes in; a failure's error is the provider's redacted one. Durations are
// written as Go duration strings, which JSON logs would otherwise turn
// into nanosecond counts.
func (c *Credential) audit(tok provider.Token, err error, d, retryIn time.Duration) {
	if err == nil {
		c.log.Info("exchange", keyCredential, c.cfg.Name, keyProvider, c.cfg.Provider,
			keyOutcome, outcomeOK, keyDuration, d.String(), keyExpiresIn, tok.Lifetime.String(), keyRequestID, tok.RequestID)
		return
	}
	var reqID string
	if pe, ok := provider.AsError(err); ok {
		reqID = pe.RequestID
	}
	c.log.Info("exchange", keyCredential, c.cfg.Name, keyProvider, c.cfg.Provider,
		keyOutcome, outcomeError, keyDuration, d.String(), keyRequestID, reqID, keyError, err.Error(), keyRetryIn, retryIn.String())
}
