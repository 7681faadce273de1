package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// Error is a refusal by the broker: its problem+json, decoded.
type Error struct {
	Status       int
	Code         string
	Title        string
	Detail       string
	RetryAfter   time.Duration
	UpstreamCode string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("broker: %s (%d %s)", e.Title, e.Status, e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// IsCode reports whether err is a broker refusal with the code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// UnreachableError says the broker could not be reached at all.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("broker unreachable at %s: %v", e.Socket, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err says the broker could not be reached.
func IsUnreachable(err error) bool {
	var e *UnreachableError
	return errors.As(err, &e)
}

func decodeError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var p api.Problem
	if strings.HasPrefix(resp.Header.Get("Content-Type"), api.ProblemContentType) && json.Unmarshal(body, &p) == nil && p.Code != "" {
		e.Code, e.Title, e.Detail, e.UpstreamCode = p.Code, p.Title, p.Detail, p.UpstreamCode
		e.RetryAfter = p.Retry()
	} else {
		snippet := string(body)
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		e.Code, e.Title, e.Detail = "unexpected_response", http.StatusText(resp.StatusCode), "not a problem+json body: "+strconv.Quote(snippet)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
