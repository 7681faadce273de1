package anthropic

import (
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

func secretOf(s string) secret.Value { return secret.New(s) }

var removeAPIKey = []string{"x-api-key"}

// Headers returns the bearer, the client's betas with the OAuth beta
// merged in (deduplicated, order kept), and a default anthropic-version
// when the client sent none; the placeholder x-api-key is removed.
func (p *Provider) Headers(tok *provider.Token, req *provider.Request) (provider.Grant, error) {
	set := make(map[string]string, 3)
	set["authorization"] = "Bearer " + tok.Value.Reveal()
	set["anthropic-beta"] = MergeBetas(req.Headers["anthropic-beta"])
	defaultVersion(set, req)
	return provider.Grant{Set: set, Remove: removeAPIKey}, nil
}

// defaultVersion sets anthropic-version in set when the client sent none,
// as the gh-aw api-proxy does for static keys and OIDC alike.
func defaultVersion(set map[string]string, req *provider.Request) {
	if req.Headers["anthropic-version"] == "" {
		set["anthropic-version"] = DefaultVersion
	}
}

// MergeBetas returns the client's comma-separated betas, trimmed and
// deduplicated in order, with OAuthBeta appended if absent.
func MergeBetas(client string) string {
	if client == "" || client == OAuthBeta {
		return OAuthBeta
	}
	parts := strings.Split(client, ",")
	out := make([]string, 0, len(parts)+1)
	seen := false
	for _, b := range parts {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == b {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		seen = seen || b == OAuthBeta
		out = append(out, b)
	}
	if !seen {
		out = append(out, OAuthBeta)
	}
	return strings.Join(out, ",")
}

// StaticKey adapts a static API-key credential to the Anthropic API: its
// own header, plus anthropic-version when the client sent none, as the
// gh-aw api-proxy does for static keys and OIDC alike.
type StaticKey struct {
	provider.Provider
}

// Headers returns the key's grant with the default anthropic-version,
// added in place: the wrapped provider's Headers makes a fresh Set for
// every request (provider/static does), so nothing is copied per request.
func (k StaticKey) Headers(tok *provider.Token, req *provider.Request) (provider.Grant, error) {
	g, err := k.Provider.Headers(tok, req)
	if err != nil {
		return g, err
	}
	if g.Set == nil {
		g.Set = make(map[string]string, 1)
	}
	defaultVersion(g.Set, req)
	return g, nil
}
