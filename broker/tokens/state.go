package tokens

import (
	"errors"
	"fmt"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// State is a credential's state as operators see it.
type State string

// The states of DESIGN §5.
const (
	StatePending    State = "pending"
	StateReady      State = "ready"
	StateRefreshing State = "refreshing"
	StateDegraded   State = "degraded"
	StateExpired    State = "expired"
	StateFailed     State = "failed"
)

// Entry is one token as received; it is immutable once published.
type Entry struct {
	Token      provider.Token
	ReceivedAt time.Time
	// ExpiresAt and ServeUntil are zero for tokens that never expire.
	ExpiresAt  time.Time
	ServeUntil time.Time
	// Generation is the identity registration the token was minted under.
	Generation uint64
}

// ServableAt reports whether the token may be served at now.
func (e *Entry) ServableAt(now time.Time) bool {
	return e.ServeUntil.IsZero() || now.Before(e.ServeUntil)
}

// Status is a snapshot of a credential, free of secrets.
type Status struct {
	Name, Provider string
	State          State
	// Zero times mean "none".
	ExpiresAt, NextRefreshAt, LastRefreshAt time.Time
	// LastError is the redacted error of the last failed exchange.
	LastError, LastErrorCode string
	Refreshes, Failures      uint64
}

// ErrUnavailable is matched (errors.Is) by errors saying no valid token
// could be had in time; the caller may retry.
var ErrUnavailable = errors.New("credential unavailable")

// ErrFailed is matched (errors.Is) by errors saying the upstream refused
// the exchange permanently; retrying soon is pointless.
var ErrFailed = errors.New("credential failed")

// UnavailableError says no valid token could be had within the wait.
type UnavailableError struct {
	Credential string
	RetryAfter time.Duration
	Reason     string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("credential %q unavailable: %s", e.Credential, e.Reason)
}

// Is matches ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// FailedError says the upstream refused the exchange permanently.
type FailedError struct {
	Credential string
	// Code is the upstream's redacted error code; Detail the redacted error.
	Code, Detail string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("credential %q failed: %s", e.Credential, e.Detail)
}

// Is matches ErrFailed.
func (e *FailedError) Is(target error) bool { return target == ErrFailed }
