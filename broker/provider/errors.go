package provider

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind says whether a failed exchange is worth retrying soon.
type Kind int

const (
	// Transient failures (network, 429, 5xx) retry with fast backoff.
	Transient Kind = iota
	// Permanent failures (400, 401, 403, invalid_grant) move the
	// credential to failed and retry only on a slow backoff.
	Permanent
)

func (k Kind) String() string {
	if k == Permanent {
		return "permanent"
	}
	return "transient"
}

// Error is a failed exchange. Every field is safe to log and to show a
// caller: Detail is the redacted upstream body, never the raw one.
type Error struct {
	Kind Kind
	// Op names the step that failed ("mint", "exchange", "impersonate").
	Op string
	// Status is the upstream HTTP status, 0 when there was no answer.
	Status int
	// Code is the upstream's machine error code ("invalid_grant",
	// "authentication_error"), when it gave one.
	Code string
	// Detail is the redacted upstream error or a description.
	Detail string
	// RequestID is the upstream request id, when it gave one.
	RequestID string
	// RetryAfter is the upstream's Retry-After, when it gave one.
	RetryAfter time.Duration
	// Remint reports whether one retry with a freshly minted subject token
	// may succeed (an expired or reused JWT).
	Remint bool
	// Err is the underlying error, already free of secrets.
	Err error
}

func (e *Error) Error() string {
	msg := e.Op + " failed"
	if e.Status != 0 {
		msg += fmt.Sprintf(" (status %d", e.Status)
		if e.RequestID != "" {
			msg += ", request-id " + e.RequestID
		}
		msg += ")"
	}
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying soon is pointless.
func (e *Error) Permanent() bool { return e.Kind == Permanent }

// IsPermanent reports whether err, or an error it wraps, says it is
// permanent (any error with a Permanent() bool method).
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOfStatus classifies an upstream HTTP status: 429, 408 and 5xx are
// transient, every other non-2xx status is permanent.
func KindOfStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return Transient
	default:
		return Permanent
	}
}
