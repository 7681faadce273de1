package anthropic

import (
	"context"
	"testing"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// TestStaticKeyAddsTheVersion: a static Anthropic key gets the default
// anthropic-version like the OIDC credential, and the client's own wins.
func TestStaticKeyAddsTheVersion(t *testing.T) {
	k := StaticKey{Provider: keyProvider{}}
	tok := provider.Token{Value: secret.New("k")}
	for _, c := range []struct{ client, want string }{{"", DefaultVersion}, {"2024-01-01", ""}} {
		g, err := k.Headers(&tok, &provider.Request{Headers: map[string]string{"anthropic-version": c.client}})
		if err != nil {
			t.Fatal(err)
		}
		if g.Set["x-api-key"] != "k" || g.Set["anthropic-version"] != c.want {
			t.Errorf("client version %q: set %v, want anthropic-version %q", c.client, g.Set, c.want)
		}
	}
}

// keyProvider stands in for provider/static (providers never import each other).
type keyProvider struct{}

func (keyProvider) Name() string          { return "static" }
func (keyProvider) NeedsBodySHA256() bool { return false }
func (keyProvider) Exchange(context.Context, provider.Subject) (provider.Token, error) {
	return provider.Token{Value: secret.New("k")}, nil
}
func (keyProvider) Headers(tok *provider.Token, _ *provider.Request) (provider.Grant, error) {
	return provider.Grant{Set: map[string]string{"x-api-key": tok.Value.Reveal()}}, nil
}
