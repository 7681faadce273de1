package settings

import (
	"slices"
	"strings"
)

// AzureClouds lists the clouds an azure credential may name.
func AzureClouds() []string { return []string{"public", "usgovernment", "china"} }

// Azure is the azure provider's settings: an Entra client_credentials
// grant with the JWT as a federated client assertion.
type Azure struct {
	TenantID, ClientID string
	// Cloud is public (default), usgovernment or china.
	Cloud string
	// Audience is the JWT's audience (default per cloud).
	Audience string
	// Scope is e.g. https://cognitiveservices.azure.com/.default (default per cloud).
	Scope string
	// TokenURL is https://<login host>/<tenant>/oauth2/v2.0/token (default per cloud).
	TokenURL string
}

// azureCloud returns a cloud's login host, token-exchange audience and
// default scope (protocols.md §5).
func azureCloud(cloud string) (login, audience, scope string) {
	switch cloud {
	case "usgovernment":
		return "login.microsoftonline.us", "api://AzureADTokenExchangeUSGov", "https://cognitiveservices.azure.us/.default"
	case "china":
		return "login.chinacloudapi.cn", "api://AzureADTokenExchangeChina", "https://cognitiveservices.azure.cn/.default"
	default:
		return "login.microsoftonline.com", "api://AzureADTokenExchange", "https://cognitiveservices.azure.com/.default"
	}
}

// WithDefaults returns s with its defaults applied.
func (s Azure) WithDefaults() Azure {
	setDefault(&s.Cloud, "public")
	login, aud, scope := azureCloud(s.Cloud)
	setDefault(&s.Audience, aud)
	setDefault(&s.Scope, scope)
	if s.TenantID != "" {
		setDefault(&s.TokenURL, "https://"+login+"/"+s.TenantID+"/oauth2/v2.0/token")
	}
	return s
}

// Check reports every problem with s.
func (s Azure) Check() error {
	c := checker{provider: "azure"}
	c.required("tenant_id", s.TenantID)
	c.required("client_id", s.ClientID)
	if s.Cloud != "" && !slices.Contains(AzureClouds(), s.Cloud) {
		c.add("cloud", "must be one of %s (got %q)", strings.Join(AzureClouds(), ", "), s.Cloud)
	}
	c.endpoint("token_url", s.TokenURL)
	return c.err()
}

// DefaultHosts is nil: an Azure OpenAI resource's host is the user's.
func (Azure) DefaultHosts() []string { return nil }

// NeedsIdentity reports true.
func (Azure) NeedsIdentity() bool { return true }
