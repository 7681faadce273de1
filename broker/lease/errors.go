package lease

import (
	"errors"
	"fmt"
	"github.com/awf-broker/awf-broker/api"
)

// Error is a refusal of the store's own with its HTTP status and api code.
// Msg is safe to show the caller: it never holds a secret. The access
// policy's refusals (a foreign holder, an invisible process, the quota)
// are returned as the *api.Problem it made.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// CodeOf returns the api code of the *Error or *api.Problem (an access
// policy's refusal) in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	var p *api.Problem
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.As(err, &p):
		return p.Code
	}
	return ""
}

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}
