// Package settings is the one description of each provider's settings:
// its fields, their defaults, how they are checked, and the default hosts
// a credential of it may reach. broker/config checks a file with it and
// each provider package checks its Config with it, so the two cannot
// drift. It imports only the standard library, so config stays light and
// providers still never import each other.
package settings

import (
	"fmt"
	"strings"
)

// Names lists the providers, in the order error messages name them.
func Names() []string {
	return []string{"anthropic", "openai", "aws", "gcp", "azure", "static"}
}

// Settings is what config and a provider need of one provider's settings.
type Settings interface {
	// Check reports every problem, as Errors.
	Check() error
	// DefaultHosts is the scope ceiling when the credential names no
	// hosts; nil means hosts are required.
	DefaultHosts() []string
	// NeedsIdentity reports whether the provider exchanges a subject
	// token (every provider but static).
	NeedsIdentity() bool
}

// FieldError is one problem with one field, named as in the config file.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errors is every problem Check found, in field order.
type Errors []*FieldError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// checker collects a provider's problems.
type checker struct {
	provider string
	errs     Errors
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// required reports a missing field.
func (c *checker) required(field, val string) bool {
	if val == "" {
		c.add(field, "required for provider %q", c.provider)
		return false
	}
	return true
}

// endpoint reports a URL that is not https (or http to loopback).
func (c *checker) endpoint(field, val string) {
	if val == "" {
		return
	}
	if msg := CheckEndpoint(val); msg != "" {
		c.add(field, "%s", msg)
	}
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

func setDefault(p *string, v string) {
	if *p == "" {
		*p = v
	}
}
