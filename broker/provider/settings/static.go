package settings

// Static is the static provider's settings: a key served as a header.
type Static struct {
	// Header is the header the key goes in (x-api-key, authorization, …).
	Header string
	// ValueFile and ValueEnv: exactly one names where the key is.
	ValueFile, ValueEnv string
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
	return c.err()
}

// DefaultHosts is nil: a key's hosts are the user's to name.
func (Static) DefaultHosts() []string { return nil }

// NeedsIdentity reports false: a static key is not exchanged.
func (Static) NeedsIdentity() bool { return false }
