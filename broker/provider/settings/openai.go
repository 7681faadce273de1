package settings

// OpenAI defaults (protocols.md §6).
const (
	OpenAIDefaultAudience = "https://api.openai.com/v1"
	OpenAIDefaultTokenURL = "https://auth.openai.com/oauth/token"
)

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
func (OpenAI) DefaultHosts() []string { return []string{"api.openai.com"} }

// NeedsIdentity reports true.
func (OpenAI) NeedsIdentity() bool { return true }
