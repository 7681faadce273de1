package api

import (
	"fmt"
	"time"
)

// ProblemContentType is the media type of error bodies (RFC 9457).
const ProblemContentType = "application/problem+json"

// ProblemTypeBase prefixes every problem's type URI; the code follows it.
const ProblemTypeBase = "https://awf-broker.dev/problems/"

// Error codes: stable, machine-readable, one per kind of refusal.
const (
	CodeBadRequest            = "bad_request"
	CodeUnknownField          = "unknown_field"
	CodeTooLarge              = "too_large"
	CodeUnauthenticated       = "unauthenticated"
	CodeForbidden             = "forbidden"
	CodeNotFound              = "not_found"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeUnknownCredential     = "unknown_credential"
	CodeUnknownIdentity       = "unknown_identity"
	CodeUnknownLease          = "unknown_lease"
	CodeLeaseExpired          = "lease_expired"
	CodeLeaseRevoked          = "lease_revoked"
	CodeScopeViolation        = "scope_violation"
	CodeInsecureURL           = "insecure_url"
	CodeCredentialUnavailable = "credential_unavailable"
	CodeCredentialFailed      = "credential_failed"
	// CodeQuotaExceeded (429): the caller's uid is at one of its limits.
	CodeQuotaExceeded = "quota_exceeded"
	// CodeProcessNotVisible (400): the caller's pid is not visible to the
	// broker (another pid namespace), so bind "process" cannot hold.
	CodeProcessNotVisible = "process_not_visible"
	CodeInternal          = "internal"
)

// Problem is an RFC 9457 problem+json body with a stable machine code.
// Detail never carries a secret.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	// RetryAfter mirrors the Retry-After header, in seconds, on retryable errors.
	RetryAfter int `json:"retry_after,omitempty"`
	// UpstreamCode is the upstream's redacted error code on credential_failed.
	UpstreamCode string `json:"upstream_code,omitempty"`
}

// Error implements error, so a client can return a Problem as is.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%s (%d %s): %s", p.Title, p.Status, p.Code, p.Detail)
	}
	return fmt.Sprintf("%s (%d %s)", p.Title, p.Status, p.Code)
}

// Retry reports how long to wait before retrying, 0 when not retryable.
func (p *Problem) Retry() time.Duration { return time.Duration(p.RetryAfter) * time.Second }
