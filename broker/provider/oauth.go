package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/broker/secret"
)

// MaxTokenLifetime is the longest lifetime a token is taken to have,
// whatever its upstream stated. Providers report what was stated; the
// token cache clamps (and warns), so the clamp is written once.
const MaxTokenLifetime = 24 * time.Hour

// DefaultLifetime is a token's lifetime when an upstream that may omit
// expires_in does: the gh-aw api-proxy's and the openai-go SDK's
// assumption, harmless since an early 401 re-exchanges.
const DefaultLifetime = time.Hour

// TokenCall is one request to a token endpoint.
type TokenCall struct {
	// Op names the step for errors ("exchange", "impersonate").
	Op          string
	URL         string
	ContentType string
	Body        []byte
	// Bearer, when set, is sent as Authorization: Bearer.
	Bearer secret.Value
	// RequestIDHeader names the answer header holding the upstream's
	// request id ("x-ms-request-id"), when it has one.
	RequestIDHeader string
}

// TokenAnswer is what a token endpoint answered.
type TokenAnswer struct {
	Op         string
	Status     int
	Header     http.Header
	Body       []byte
	RequestID  string
	RetryAfter time.Duration
	// Received is the local time the answer arrived.
	Received time.Time
}

// PostToken sends call through c (our retrying client) and reads the
// answer, whatever its status. A transport failure is a transient *Error
// whose text carries the cause but not the URL.
func PostToken(ctx context.Context, c *http.Client, call TokenCall) (*TokenAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call.URL, bytes.NewReader(call.Body))
	if err != nil {
		return nil, &Error{Kind: Permanent, Op: call.Op, Detail: "cannot build the request"}
	}
	req.Header.Set("Content-Type", call.ContentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "awf-broker")
	if !call.Bearer.IsZero() {
		req.Header.Set("Authorization", "Bearer "+call.Bearer.Reveal())
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, &Error{Kind: Transient, Op: call.Op, Detail: "token endpoint unreachable", Err: errors.New(transportCause(err))}
	}
	body, err := ReadBody(resp)
	if err != nil {
		return nil, &Error{Kind: Transient, Op: call.Op, Status: resp.StatusCode, Detail: "answer cut short", Err: err}
	}
	a := &TokenAnswer{Op: call.Op, Status: resp.StatusCode, Header: resp.Header, Body: body,
		RetryAfter: RetryAfter(resp.Header), Received: time.Now()}
	if call.RequestIDHeader != "" {
		a.RequestID = resp.Header.Get(call.RequestIDHeader)
	}
	return a, nil
}

// transportCause keeps the cause of a transport failure without the URL.
func transportCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	for _, ce := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ce) {
			return ce.Error()
		}
	}
	return err.Error()
}

// OK reports whether the answer has a 2xx status.
func (a *TokenAnswer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Failure returns the error of a non-2xx answer: kind, status, the
// upstream's code (or the status text), the redacted body, request id
// and Retry-After.
func (a *TokenAnswer) Failure(kind Kind) *Error {
	e := &Error{Kind: kind, Op: a.Op, Status: a.Status, Code: ErrorCode(a.Body), Detail: Redact(a.Body),
		RequestID: a.RequestID, RetryAfter: a.RetryAfter}
	if e.Code == "" {
		e.Code = http.StatusText(a.Status)
	}
	return e
}

// Malformed returns the error of a 2xx answer the provider cannot use.
// why must not quote the body.
func (a *TokenAnswer) Malformed(why string) *Error {
	return &Error{Kind: Transient, Op: a.Op, Status: a.Status, Code: "malformed_response", RequestID: a.RequestID, Detail: why}
}

// Seconds is a JSON count of seconds sent as a number or a numeric
// string (Entra's v1 endpoint quotes expires_in).
type Seconds struct {
	N   float64
	Set bool
}

// UnmarshalJSON accepts 3600, 3599.5 and "3600"; null leaves it unset.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	raw := strings.Trim(string(b), `"`)
	n, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return errors.New("not a number of seconds")
	}
	s.N, s.Set = n, true
	return nil
}

// Lifetime returns the lifetime an expires_in of s states (LifetimeOf),
// or fallback when the answer had none. Its error, fit for Malformed,
// names why no token can have it: absent with no fallback (0), or zero or
// negative.
func (s Seconds) Lifetime(fallback time.Duration) (time.Duration, error) {
	switch {
	case !s.Set && fallback == 0:
		return 0, errors.New("answer has no expires_in")
	case !s.Set:
		return fallback, nil
	}
	l, ok := LifetimeOf(s.N)
	if !ok {
		return 0, errors.New("expires_in is zero or negative")
	}
	return l, nil
}

// OAuthToken is the RFC 6749 token answer the providers share.
type OAuthToken struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   Seconds `json:"expires_in"`
}

// BearerToken parses a 2xx RFC 6749 answer into a Token: a non-empty
// access_token, a token_type of Bearer if present, and expires_in as the
// lifetime counted from receipt (fallback when absent; an answer without
// it is malformed when fallback is 0), as stated: the token cache clamps.
func (a *TokenAnswer) BearerToken(fallback time.Duration) (Token, error) {
	var t OAuthToken
	if err := json.Unmarshal(a.Body, &t); err != nil {
		return Token{}, a.Malformed("parse response: " + jsonProblem(err))
	}
	if t.AccessToken == "" {
		return Token{}, a.Malformed("answer has no access_token")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return Token{}, a.Malformed(fmt.Sprintf("token_type %q is not Bearer", clip(t.TokenType)))
	}
	lifetime, err := t.ExpiresIn.Lifetime(fallback)
	if err != nil {
		return Token{}, a.Malformed(err.Error())
	}
	return Token{Value: secret.New(t.AccessToken), Lifetime: lifetime, RequestID: a.RequestID}, nil
}

// LifetimeOf converts an expires_in of s seconds to a lifetime without
// overflow: s = 1e12 would overflow a time.Duration, so it saturates at
// the largest one; any positive s gives at least 1 ns. It reports false
// for zero, negative and NaN values, which no token can have. It does not
// clamp to MaxTokenLifetime: the token cache does, and reports what the
// upstream stated next to what it took.
func LifetimeOf(s float64) (time.Duration, bool) {
	if !(s > 0) { // also NaN
		return 0, false
	}
	// 1<<63 is exact in a float64; anything below it converts safely.
	if ns := s * float64(time.Second); ns < 1<<63 {
		return max(time.Duration(ns), time.Nanosecond), true
	}
	return math.MaxInt64, true
}

// jsonProblem names what is wrong with a JSON body without quoting it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	default:
		return "not the expected JSON"
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
