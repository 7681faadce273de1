// Package secret holds values that must never be printed: tokens, JWTs,
// request tokens and lease secrets. A Value formats, marshals and logs as
// "[redacted]"; only Reveal returns the text, and the few call sites that
// put a secret on the wire call it by name.
package secret

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Redacted is what a Value prints as.
const Redacted = "[redacted]"

// Value is a secret string. Its zero value is the empty secret.
type Value struct {
	s string
}

// New wraps s as a secret.
func New(s string) Value { return Value{s: s} }

// Reveal returns the secret text. Call it only to put the secret on the wire.
func (v Value) Reveal() string { return v.s }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.s == "" }

// Len returns the length of the secret in bytes.
func (v Value) Len() int { return len(v.s) }

// Equal reports whether v and o hold the same text, in constant time.
func (v Value) Equal(o Value) bool {
	return subtle.ConstantTimeCompare([]byte(v.s), []byte(o.s)) == 1
}

// String implements fmt.Stringer and never returns the secret.
func (v Value) String() string { return Redacted }

// GoString implements fmt.GoStringer and never returns the secret.
func (v Value) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb (%v %s %q %x %+v %#v)
// prints the redaction, never the bytes.
func (v Value) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(Redacted))
}

// MarshalJSON implements json.Marshaler and never returns the secret.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler and never returns the secret.
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue implements slog.LogValuer.
func (v Value) LogValue() slog.Value { return slog.StringValue(Redacted) }
