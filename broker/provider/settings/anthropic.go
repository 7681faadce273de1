package settings

import "strings"

// Anthropic defaults (protocols.md §2).
const (
	AnthropicDefaultAudience = "https://api.anthropic.com"
	AnthropicDefaultTokenURL = "https://api.anthropic.com" + AnthropicTokenPath
	// AnthropicTokenPath is the path every token_url ends in: the SDK
	// derives the API base from it (config.TokenEndpoint).
	AnthropicTokenPath = "/v1/oauth/token"
)

// Anthropic is the anthropic provider's settings: a workload identity
// federation exchange for an sk-ant-oat01 token.
type Anthropic struct {
	FederationRuleID, OrganizationID string
	// ServiceAccountID and WorkspaceID are optional; an empty one is
	// left out of the exchange.
	ServiceAccountID, WorkspaceID string
	// Audience is the JWT's audience (default https://api.anthropic.com).
	Audience string
	// TokenURL is the full oauth/token URL.
	TokenURL string
}

// WithDefaults returns s with its defaults applied.
func (s Anthropic) WithDefaults() Anthropic {
	setDefault(&s.Audience, AnthropicDefaultAudience)
	setDefault(&s.TokenURL, AnthropicDefaultTokenURL)
	return s
}

// Check reports every problem with s.
func (s Anthropic) Check() error {
	c := checker{provider: "anthropic"}
	c.required("federation_rule_id", s.FederationRuleID)
	c.required("organization_id", s.OrganizationID)
	c.endpoint("token_url", s.TokenURL)
	if s.TokenURL != "" && CheckEndpoint(s.TokenURL) == "" && !strings.HasSuffix(s.TokenURL, AnthropicTokenPath) {
		c.add("token_url", "%q must end in %s", s.TokenURL, AnthropicTokenPath)
	}
	return c.err()
}

// DefaultHosts is the Messages API's host.
func (Anthropic) DefaultHosts() []string { return []string{"api.anthropic.com"} }

// NeedsIdentity reports true.
func (Anthropic) NeedsIdentity() bool { return true }
