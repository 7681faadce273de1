package config

import (
	"fmt"
	"strings"
)

// Pos is where a value came from: a file position, or ("env") a variable.
type Pos struct {
	File      string
	Line, Col int
	// Var names the environment variable, for env configs.
	Var string
}

// Error is one problem in a configuration.
type Error struct {
	Pos Pos
	// Where names the block ("credential \"anthropic\""), if any.
	Where string
	// Field is the attribute's name in the file.
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, "%s:%d,%d: ", e.Pos.File, e.Pos.Line, e.Pos.Col)
	} else if e.Pos.File != "" {
		b.WriteString(e.Pos.File + ": ")
	}
	if e.Pos.Var != "" {
		b.WriteString(e.Pos.Var + ": ")
	} else {
		if e.Where != "" {
			b.WriteString(e.Where + ": ")
		}
		if e.Field != "" {
			b.WriteString(e.Field + ": ")
		}
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errs collects problems.
type errs struct{ list Errors }

func (e *errs) add(pos Pos, where, field, format string, args ...any) {
	e.list = append(e.list, &Error{Pos: pos, Where: where, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	return e.list
}
