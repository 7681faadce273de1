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
	keyStated     = "stated_expires_in"
)

// Audit outcomes.
const (
	outcomeOK    = "ok"
	outcomeError = "error"
)

// exchange runs one exchange, started under generation gen and purge
// epoch epoch, and publishes its outcome.
func (c *Cache) exchange(ctx context.Context, f *flight, gen, epoch uint64) {
	defer c.wg.Done()
	xctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	start := c.cfg.Clock.Now()
	tok, err := c.cfg.Exchanger.Exchange(xctx, c.cfg.Subject)
	cancel()
	received := c.cfg.Clock.Now()
	stated := tok.Lifetime
	if err == nil && tok.Lifetime < 0 {
		err = fmt.Errorf("exchange returned a negative lifetime (%v)", tok.Lifetime)
	}
	tok.Lifetime = ClampLifetime(tok.Lifetime)

	c.mu.Lock()
	var retryIn time.Duration
	discarded := false
	switch {
	case c.epoch != epoch || err == nil && !c.current(gen):
		// The identity changed under the exchange: its token belongs to
		// the previous registration. Exchange again at once. (A refusal
		// under a generation the identity itself moved on, such as a job
		// that completed, carries no token and is taken as it is.)
		err = errors.New("identity changed during the exchange; token discarded")
		discarded = true
		c.discarded++
		c.nextRefresh = received
	case err != nil && ctx.Err() != nil:
		// Run is stopping: not the upstream's failure.
		discarded = true
		c.discarded++
		c.nextRefresh = received
	case err != nil:
		c.failures++
		perm := provider.IsPermanent(err)
		if c.lastErr == nil || perm != c.permanent {
			c.attempt = 0
		}
		if perm {
			// The upstream refused for good (job completed, 401/403,
			// invalid_grant, a deleted rule): the token it gave before
			// must not serve on until its cut-off. Fail closed.
			c.entry.Store(nil)
		}
		c.lastErr, c.lastCode, c.permanent = err, errorCode(err), perm
		retryIn = RetryDelay(c.attempt, perm, retryAfterOf(err), c.cfg.Rand)
		c.attempt++
		c.lastExchange, c.lastExchangeGen = received, gen
		c.nextRefresh = NextExchange(received.Add(retryIn), received)
		retryIn = c.nextRefresh.Sub(received)
	default:
		c.entry.Store(newEntry(tok, received, gen))
		c.lastErr, c.lastCode, c.permanent, c.attempt = nil, "", false, 0
		c.refreshes++
		c.lastRefresh = received
		c.lastExchange, c.lastExchangeGen = received, gen
		c.nextRefresh = time.Time{}
		if tok.Lifetime > 0 {
			c.nextRefresh = NextExchange(received.Add(RefreshAfter(tok.Lifetime)), received)
		}
	}
	f.err = err
	c.inflight = nil
	close(f.done)
	c.broadcastLocked()
	c.mu.Unlock()

	r := c.result(tok, stated, err, received.Sub(start), retryIn, discarded)
	c.audit(tok, err, r.Duration, retryIn)
	if r.ShortLived() {
		c.log.Warn("token lifetime out of the expected range", keyCredential, c.cfg.Name,
			keyStated, r.StatedLifetime.String(), keyExpiresIn, r.Lifetime.String(), keyRequestID, r.RequestID)
	}
	if c.cfg.OnExchange != nil {
		c.cfg.OnExchange(r)
	}
	c.wake()
	c.notify()
}

// Exchange outcomes of ExchangeResult.Outcome.
const (
	// OutcomeOK: a token was received and is served.
	OutcomeOK = "ok"
	// OutcomeError: a transient failure; retried with backoff.
	OutcomeError = "error"
	// OutcomeFailed: a permanent refusal (invalid_grant, 401, 403).
	OutcomeFailed = "failed"
	// OutcomeDiscarded: the outcome was dropped (the identity changed, or
	// the cache was stopping).
	OutcomeDiscarded = "discarded"
)

// ExchangeResult describes one finished exchange for observers (events,
// metrics). It never carries the token; Error is the provider's redacted
// error text.
type ExchangeResult struct {
	Credential, Provider string
	// Outcome is one of OutcomeOK, OutcomeError, OutcomeFailed, OutcomeDiscarded.
	Outcome  string
	Duration time.Duration
	// Lifetime is the token's lifetime (OutcomeOK; 0: no expiry), after
	// ClampLifetime; StatedLifetime is the one the provider returned.
	Lifetime, StatedLifetime time.Duration
	// RetryIn is when the next attempt is scheduled after a failure.
	RetryIn   time.Duration
	Error     string
	Code      string
	RequestID string
}

// ShortLived reports whether the exchange gave a token that lives less
// than ShortLifetime, or whose stated lifetime had to be clamped (an
// expires_in of 1e12 is taken as 24 h): both deserve a warning.
func (r ExchangeResult) ShortLived() bool {
	return r.Outcome == OutcomeOK && r.Lifetime > 0 && (r.Lifetime < ShortLifetime || r.Lifetime != r.StatedLifetime)
}

// result describes an exchange whose provider stated the lifetime stated
// and whose token tok has it clamped.
func (c *Cache) result(tok provider.Token, stated time.Duration, err error, d, retryIn time.Duration, discarded bool) ExchangeResult {
	r := ExchangeResult{Credential: c.cfg.Name, Provider: c.cfg.Provider, Duration: d}
	switch {
	case err == nil:
		r.Outcome, r.Lifetime, r.StatedLifetime, r.RequestID = OutcomeOK, tok.Lifetime, stated, tok.RequestID
		return r
	case discarded:
		r.Outcome = OutcomeDiscarded
	case provider.IsPermanent(err):
		r.Outcome = OutcomeFailed
	default:
		r.Outcome = OutcomeError
	}
	r.Error, r.Code, r.RetryIn = err.Error(), errorCode(err), retryIn
	if pe, ok := provider.AsError(err); ok {
		r.RequestID = pe.RequestID
	}
	return r
}

// audit writes the one line every exchange gets. The token's value never
// goes in; a failure's error is the provider's redacted one. Durations are
// written as Go duration strings, which JSON logs would otherwise turn
// into nanosecond counts.
func (c *Cache) audit(tok provider.Token, err error, d, retryIn time.Duration) {
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
