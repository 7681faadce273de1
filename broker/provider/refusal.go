package provider

// RefusalError is a header request a provider will not grant. Its text is
// safe to show the caller: it names the request, never a secret.
type RefusalError struct {
	// Scope reports whether the request is outside what the credential may
	// be used for (the server answers 403 scope_violation); otherwise the
	// request itself is malformed (400 bad_request).
	Scope bool
	// Reason says what is refused and why.
	Reason string
}

func (e *RefusalError) Error() string { return e.Reason }
