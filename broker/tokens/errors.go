package tokens

import (
	"errors"
	"fmt"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// ErrUnavailable is matched (errors.Is) by errors saying no valid token
// could be had in time; the caller may retry after a while.
var ErrUnavailable = errors.New("credential unavailable")

// ErrFailed is matched (errors.Is) by errors saying the upstream refused
// the exchange permanently; retrying soon is pointless.
var ErrFailed = errors.New("credential failed")

// UnavailableError says no valid token could be had within the wait.
type UnavailableError struct {
	Credential string
	// RetryAfter hints when a token may be at hand (at least 1 s).
	RetryAfter time.Duration
	// Reason says why, free of secrets.
	Reason string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("credential %q unavailable: %s", e.Credential, e.Reason)
}

// Is matches ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// FailedError says the upstream refused the exchange permanently.
type FailedError struct {
	Credential string
	// Code is the upstream's error code ("invalid_grant"), when it gave one.
	Code string
	// Detail is the redacted error of the refused exchange.
	Detail string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("credential %q failed: %s", e.Credential, e.Detail)
}

// Is matches ErrFailed.
func (e *FailedError) Is(target error) bool { return target == ErrFailed }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// errorCode returns the upstream's machine code of err, if it has one.
func errorCode(err error) string {
	if pe, ok := provider.AsError(err); ok {
		return pe.Code
	}
	return ""
}

// retryAfterOf returns the upstream's Retry-After carried by err, if any.
func retryAfterOf(err error) time.Duration {
	if pe, ok := provider.AsError(err); ok {
		return pe.RetryAfter
	}
	return 0
}
