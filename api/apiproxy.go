package api

import "slices"

// APIProxyBasePort is the gh-aw api-proxy's first port, openai's.
const APIProxyBasePort = 10000

// APIProxyProviders returns the gh-aw api-proxy's providers in port order:
// `awf-broker-cli sidecar` serves a credential of the name at index i on
// APIProxyBasePort+i (plus its --port-offset).
func APIProxyProviders() []string {
	return []string{"openai", "anthropic", "copilot", "gemini", "vertex"}
}

// APIProxyPort returns the api-proxy port of provider name, or 0 when
// name is not one of APIProxyProviders.
func APIProxyPort(name string) int {
	i := slices.Index(APIProxyProviders(), name)
	if i < 0 {
		return 0
	}
	return APIProxyBasePort + i
}
