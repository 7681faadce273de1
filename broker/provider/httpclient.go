package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// MaxBodyBytes caps how much of an upstream answer is read.
const MaxBodyBytes = 1 << 20

// HTTPConfig configures the client every exchange goes through.
type HTTPConfig struct {
	// RetryMax is how many times a failed attempt is retried (default 3).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the wait between attempts
	// (defaults 500 ms and 30 s); a Retry-After is honoured up to RetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
	// Timeout bounds each attempt (default 30 s).
	Timeout time.Duration
	// Transport is the underlying transport (default: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
}

// NewHTTPClient returns the client for token exchanges: go-retryablehttp
// retrying transport errors, 429 and 5xx (honouring Retry-After), never
// other 4xx, following no redirect (a 307 would replay the assertion to a
// host nobody checked), and logging nothing (URLs can carry tokens).
func NewHTTPClient(cfg HTTPConfig) *http.Client {
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 3
	}
	if cfg.RetryWaitMin == 0 {
		cfg.RetryWaitMin = 500 * time.Millisecond
	}
	if cfg.RetryWaitMax == 0 {
		cfg.RetryWaitMax = 30 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryMax = cfg.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = cfg.RetryWaitMin, cfg.RetryWaitMax
	rc.HTTPClient = &http.Client{
		Transport:     tr,
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc.CheckRetry = checkRetry
	rc.Backoff = retryablehttp.DefaultBackoff
	// After the last attempt, hand the caller the upstream's own answer so
	// it can classify and redact it, rather than retryablehttp's summary.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c := rc.StandardClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// checkRetry retries transport errors, 408, 429 and 5xx; never another
// status, and never once the caller's context has ended.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return true, nil
	}
	return KindOfStatus(resp.StatusCode) == Transient && resp.StatusCode >= 400, nil
}

// ReadBody reads at most MaxBodyBytes of resp's body and closes it.
func ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	return b, nil
}

// RetryAfter parses a Retry-After header given in seconds (0 if absent or
// not a number of seconds).
func RetryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h.Get("Retry-After")); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
