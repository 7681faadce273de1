package settings

import (
	"slices"
	"strings"
)

// Static is the static provider's settings: a key served as a header.
type Static struct {
	// Header is the header the key goes in (x-api-key, authorization, …).
	Header string
	// ValueFile and ValueEnv: exactly one names where the key is.
	ValueFile, ValueEnv string
	// Scheme, when set, goes before the key ("Bearer" → "Bearer KEY").
	Scheme string
	// API names the API the key is for ("anthropic"), so that the broker
	// adds that API's required defaults (anthropic-version).
	API string
}

// Static schemes and APIs.
var (
	staticSchemes = []string{"Bearer", "token"}
	staticAPIs    = []string{"anthropic"}
)

// StripScheme drops a scheme (one of the static schemes, any case) and a
// space that someone pasted before a key, so that a configured scheme is
// not doubled and a bare scheme is not taken for a key.
func StripScheme(v string) string {
	for _, s := range staticSchemes {
		if len(v) > len(s) && strings.EqualFold(v[:len(s)], s) && v[len(s)] == ' ' {
			return strings.TrimSpace(v[len(s)+1:])
		}
	}
	return v
}

// WithDefaults returns s: a static key has no defaults.
func (s Static) WithDefaults() Static { return s }

// Check reports every problem with s.
func (s Static) Check() error {
	c := checker{provider: "static"}
	c.required("header", s.Header)
	if (s.ValueFile == "") == (s.ValueEnv == "") {
		c.add("value_file", "exactly one of value_file and value_env is required")
	}
	if s.Scheme != "" && !slices.Contains(staticSchemes, s.Scheme) {
		c.add("scheme", "must be \"Bearer\" or \"token\" (got %q)", s.Scheme)
	}
	if s.API != "" && !slices.Contains(staticAPIs, s.API) {
		c.add("api", "must be \"anthropic\" when set (got %q)", s.API)
	}
	return c.err()
}

// DefaultHosts is nil: a key's hosts are the user's to name.
func (Static) DefaultHosts() []string { return nil }

// NeedsIdentity reports false: a static key is not exchanged.
func (Static) NeedsIdentity() bool { return false }
