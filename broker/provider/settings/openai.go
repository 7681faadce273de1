package settings

import "strings"

// OpenAI defaults (protocols.md §6).
const (
	OpenAIDefaultAudience = "https://api.openai.com/v1"
	OpenAIDefaultTokenURL = "https://auth.openai.com/oauth/token"
)

// openAIHost is OpenAI's public API host; its API lives under /v1.
const openAIHost = "api.openai.com"

// DefaultTarget is the base URL of the API at host, for a credential that
// names no target: https://host, but https://api.openai.com/v1 for
// OpenAI's public API, whose clients also send unversioned paths (Codex's
// /responses) that the gh-aw api-proxy sends under /v1. It serves the
// openai provider and a static OpenAI key alike, whichever the host.
func DefaultTarget(host string) string {
	if strings.EqualFold(host, openAIHost) {
		return "https://" + openAIHost + "/v1"
	}
	return "https://" + host
}

// OpenAI is the openai provider's settings: OpenAI's workload identity
// federation.
type OpenAI struct {
	IdentityProviderID, ServiceAccountID string
	// Audience is the JWT's audience (default https://api.openai.com/v1).
	Audience string
	// TokenURL is the token exchange URL.
	TokenURL string
}

// WithDefaults returns s with its defaults applied.
func (s OpenAI) WithDefaults() OpenAI {
	setDefault(&s.Audience, OpenAIDefaultAudience)
	setDefault(&s.TokenURL, OpenAIDefaultTokenURL)
	return s
}

// Check reports every problem with s.
func (s OpenAI) Check() error {
	c := checker{provider: "openai"}
	c.required("identity_provider_id", s.IdentityProviderID)
	c.required("service_account_id", s.ServiceAccountID)
	c.endpoint("token_url", s.TokenURL)
	return c.err()
}

// DefaultHosts is the API's host.
func (OpenAI) DefaultHosts() []string { return []string{openAIHost} }

// NeedsIdentity reports true.
func (OpenAI) NeedsIdentity() bool { return true }
