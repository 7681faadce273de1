// Package devenv is the --dev environment: strict fakes of GitHub's OIDC
// issuer, of every token endpoint and of the model APIs on loopback, and a
// config that uses them, leasable by the current user. awf-brokerd --dev
// serves it; the end-to-end tests and the benchmarks run against it.
package devenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// Dev is the --dev environment: the fakes on loopback and a config that
// uses them, leasable by the current user.
type Dev struct {
	GitHub    *fake.GitHub
	Anthropic *fake.Anthropic
	API       *fake.AnthropicAPI
	Clouds    *CloudFakes
	// AWS holds the STS and Bedrock Runtime fakes of the "bedrock" credential.
	AWS    AWS
	Config *config.Config
	// Env is what the daemon's Lookup should see (the fake job's request
	// URL and token, the static key).
	Env map[string]string
}

// The --dev Anthropic federation ids: made up; the fakes check them.
const (
	RuleID           = "fdrl_01DEVRULE"
	OrgID            = "00000000-0000-4000-8000-00000000dev0"
	ServiceAccountID = "svac_01DEVACCOUNT"
)

// KeyEnv names the variable that holds the --dev static key (Dev.Env).
const KeyEnv = "AWF_DEV_STATIC_KEY"

// Subject is the subject match of the --dev federation rule; the fake
// GitHub's JWTs carry sub "repo:octo-org/octo-repo:ref:refs/heads/main".
const Subject = "repo:octo-org/octo-repo:*"

// Start starts the fakes and returns the config to run against them,
// with the socket at socketPath.
func Start(socketPath string, tokenLifetime time.Duration) (*Dev, error) {
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		return nil, err
	}
	tok := fake.NewAnthropic(fake.AnthropicOptions{
		GitHub: gh, FederationRuleID: RuleID, OrganizationID: OrgID, ServiceAccountID: ServiceAccountID,
		ExpiresIn: int(tokenLifetime / time.Second), Subject: Subject,
	})
	apiFake := fake.NewAnthropicAPI(tok)
	apiHost := strings.TrimPrefix(apiFake.URL(), "http://")
	uid := uint32(os.Getuid())
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	clouds, cloudCreds := startCloudFakes(gh, uid)
	aws, bedrock := startAWS(gh, tokenLifetime, config.Allow{UIDs: []uint32{uid}})
	cfg := &config.Config{
		Source:       "dev",
		Socket:       config.Socket{Path: socketPath, Mode: 0o600},
		Log:          config.Log{Level: "info", Format: "text"},
		WaitForToken: 10 * time.Second,
		// The GitHub fake is on loopback: listed, so that a job may
		// register it without being an admin (loopback is never implied).
		Identities: []config.Identity{{Name: "github", Type: "github-actions", Allow: config.Allow{UIDs: []uint32{uid}},
			AllowedRequestHosts: []string{"127.0.0.1"}}},
		Credentials: []config.Credential{
			{Name: "anthropic", Provider: "anthropic", Identity: "github", Audience: "https://api.anthropic.com",
				TokenURL: tok.TokenURL(), Hosts: []string{apiHost, "api.anthropic.com"}, Target: apiFake.URL(), LeaseTTL: 15 * time.Minute,
				Allow: config.Allow{UIDs: []uint32{uid}}, FederationRuleID: RuleID, OrganizationID: OrgID, ServiceAccountID: ServiceAccountID},
			{Name: "anthropic-key", Provider: "static", Header: "x-api-key", ValueEnv: KeyEnv, API: "anthropic",
				Hosts: []string{apiHost, "api.anthropic.com"}, Target: apiFake.URL(), LeaseTTL: 15 * time.Minute, Allow: config.Allow{UIDs: []uint32{uid}}},
			bedrock,
		},
	}
	cfg.Credentials = append(cfg.Credentials, cloudCreds...)
	return &Dev{
		GitHub: gh, Anthropic: tok, API: apiFake, Clouds: clouds, AWS: aws, Config: cfg,
		Env: map[string]string{
			"ACTIONS_ID_TOKEN_REQUEST_URL":   gh.RequestURL(),
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN": gh.RequestToken().Reveal(),
			KeyEnv:                           "sk-dev-" + base64.RawURLEncoding.EncodeToString(key),
		},
	}, nil
}

// Lookup reads the dev environment.
func (d *Dev) Lookup(k string) (string, bool) {
	v, ok := d.Env[k]
	return v, ok
}

// Close stops the fakes.
func (d *Dev) Close() {
	d.AWS.Close()
	d.API.Close()
	d.Clouds.Close()
	d.Anthropic.Close()
	d.GitHub.Close()
}

// Banner tells a newcomer what is running and what to type.
func (d *Dev) Banner(cli string) string {
	// Absolute, so the export works from any directory.
	sock, err := filepath.Abs(d.Config.Socket.Path)
	if err != nil {
		sock = d.Config.Socket.Path
	}
	u, _ := url.Parse(d.API.URL())
	return fmt.Sprintf(`
awf-brokerd --dev: fakes of GitHub OIDC, the Anthropic token endpoint and the
Messages API, AWS STS and Bedrock Runtime run on loopback; credentials
"anthropic" (OIDC federation), "anthropic-key" (static) and "bedrock" (STS web
identity + per-request SigV4) are leasable by you. Nothing here is a real secret.

  export AWF_BROKER_SOCKET=%[1]s
  %[2]s status
  %[2]s creds
  %[2]s lease create anthropic --label try-me          # prints the secret once
  %[2]s forward --listen 127.0.0.1:10001 --credential anthropic --upstream %[3]s
  curl -s http://127.0.0.1:10001/v1/messages -H 'content-type: application/json' \
       -d '{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'

  # The anthropic token lives minutes, bounded by its 5-minute GitHub JWT as
  # the Console bounds it; watch the broker re-exchange with a fresh JWT:
  %[2]s watch --type 'credential.*'

  # Bedrock: point an AWS SDK's endpoint at the forwarder (any dummy keys;
  # the forwarder drops them and the broker signs each request):
  %[2]s forward --listen 127.0.0.1:10002 --credential bedrock --upstream %[4]s

%[5]s
Stop with Ctrl-C.
`, sock, cli, u.String(), d.AWS.Bedrock.URL(), fmt.Sprintf(devCloudBanner, d.Clouds.Responses.URL()))
}
