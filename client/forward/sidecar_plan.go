package forward

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// SidecarBasePort is the gh-aw api-proxy's first port (openai):
// api.APIProxyBasePort.
const SidecarBasePort = api.APIProxyBasePort

// sidecarPort returns the offset of a provider name, or -1.
func sidecarPort(name string) int { return slices.Index(api.APIProxyProviders(), name) }

// sidecarRoute is one port of the sidecar: the provider name, the port,
// and, when the caller may lease a credential of that name, the credential
// and the upstream it forwards to.
type sidecarRoute struct {
	name     string
	port     int
	cred     *api.CredentialStatus // nil: nothing to forward (port 10000's management-only listener)
	upstream *url.URL
	// errShape names the provider whose error bodies the port answers in.
	errShape string
	// dropQuery names the agent's key parameters removed from URLs.
	dropQuery []string
}

// geminiKeyParams are the query parameters the api-proxy strips on the
// Gemini port: Gemini clients may send their (placeholder) key in the URL.
var geminiKeyParams = []string{"key", "apiKey", "api_key"}

// planSidecar decides the sidecar's ports from the credentials the caller
// may lease (the broker lists only those to a non-admin), the --credential
// choices (a port served by a credential of another name) and the
// --upstream overrides. Port base always listens, for /health and
// /reflect, even without an openai credential. It refuses a choice or an
// override for a name that is not an api-proxy provider, or whose
// credential the caller may not lease, and a credential with no single
// target.
func planSidecar(creds []api.CredentialStatus, base int, choices map[string]string, overrides map[string]*url.URL) ([]sidecarRoute, error) {
	byName := make(map[string]*api.CredentialStatus, len(creds))
	for i := range creds {
		byName[creds[i].Name] = &creds[i]
	}
	credOf := func(n string) string {
		if c := choices[n]; c != "" {
			return c
		}
		return n
	}
	for _, flag := range []struct {
		name  string
		names []string
	}{{"--credential", keys(choices)}, {"--upstream", keys(overrides)}} {
		for _, n := range flag.names {
			if sidecarPort(n) < 0 {
				return nil, fmt.Errorf("%s %s: not an api-proxy provider (want one of %s)", flag.name, n, strings.Join(api.APIProxyProviders(), ", "))
			}
			if byName[credOf(n)] == nil {
				return nil, fmt.Errorf("%s %s: refusing port %d: the broker lets this caller lease no credential named %q (not defined, or not in its allow list)",
					flag.name, n, base+sidecarPort(n), credOf(n))
			}
		}
	}
	var out []sidecarRoute
	for i, n := range api.APIProxyProviders() {
		r := sidecarRoute{name: n, port: base + i, cred: byName[credOf(n)]}
		if r.cred == nil {
			if i == 0 {
				r.errShape = ProviderOpenAI
				out = append(out, r)
			}
			continue
		}
		r.errShape = errShape(n, r.cred.Provider)
		if n == "gemini" || n == "vertex" {
			r.dropQuery = geminiKeyParams
		}
		u, err := sidecarUpstream(n, r.cred, overrides[n])
		if err != nil {
			return nil, fmt.Errorf("port %d (credential %q): %w", r.port, r.cred.Name, err)
		}
		r.upstream = u
		out = append(out, r)
	}
	return out, nil
}

// sidecarUpstream is the override, else the credential's target.
func sidecarUpstream(name string, c *api.CredentialStatus, override *url.URL) (*url.URL, error) {
	if override != nil {
		return override, nil
	}
	if c.Target == "" {
		return nil, fmt.Errorf("no single target host (hosts %s); give --upstream %s=URL", strings.Join(c.Hosts, ", "), name)
	}
	u, err := ParseUpstream(c.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	return u, nil
}

// errShape picks the error-body shape of a port from the credential's
// provider (the broker's provider names are the Provider* values), or for
// a static key from the port's provider name.
func errShape(name, provider string) string {
	switch provider {
	case ProviderAnthropic, ProviderOpenAI, ProviderAzure, ProviderAWS, ProviderGCP:
		return provider
	}
	switch name {
	case "anthropic":
		return ProviderAnthropic
	case "gemini", "vertex":
		return ProviderGCP
	}
	return ProviderOpenAI
}

// ParseSidecarUpstream parses the sidecar's --upstream NAME=URL.
func ParseSidecarUpstream(s string) (string, *url.URL, error) {
	name, raw, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("--upstream %q: want NAME=URL, e.g. anthropic=https://api.anthropic.com", s)
	}
	u, err := ParseUpstream(raw)
	if err != nil {
		return "", nil, fmt.Errorf("--upstream %q: %w", s, err)
	}
	return name, u, nil
}

// keys returns a map's keys, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseSidecarCredential parses the sidecar's --credential NAME=CREDENTIAL.
func ParseSidecarCredential(s string) (string, string, error) {
	name, cred, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", "", fmt.Errorf("--credential %q: want NAME=CREDENTIAL, e.g. openai=bedrock", s)
	}
	if err := checkCredentialName(cred); err != nil {
		return "", "", fmt.Errorf("--credential %q: %w", s, err)
	}
	return name, cred, nil
}
