package lease

import (
	"errors"
	"fmt"
	"github.com/awf-broker/awf-broker/api"
)

// Error is a refusal with its HTTP status and api code. Msg is safe to
// show the caller: it never holds a secret.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// CodeOf returns the api code of the *Error (or *api.Problem, a quota's
// refusal) in err's chain, or "".
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

// refusal turns a policy refusal (*api.Problem) into an *Error, so that
// every refusal of the store has one type.
func refusal(err error) error {
	var p *api.Problem
	if errors.As(err, &p) {
		return &Error{Status: p.Status, Code: p.Code, Msg: p.Detail}
	}
	return err
}
