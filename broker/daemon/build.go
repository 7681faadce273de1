package daemon

import (
	"fmt"
	"net/http"
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/anthropic"
	"github.com/awf-broker/awf-broker/broker/provider/aws"
	"github.com/awf-broker/awf-broker/broker/provider/azure"
	"github.com/awf-broker/awf-broker/broker/provider/gcp"
	"github.com/awf-broker/awf-broker/broker/provider/openai"
	"github.com/awf-broker/awf-broker/broker/provider/static"
	"github.com/awf-broker/awf-broker/broker/secret"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/broker/tokens"
)

// build makes the identities and credentials of the config.
func (d *Daemon) build() error {
	if d.opts.HTTP == nil {
		d.opts.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	cfg := d.config()
	ids := map[string]*identEntry{}
	for _, id := range cfg.Identities {
		e, err := d.newIdentity(id)
		if err != nil {
			return err
		}
		ids[id.Name] = e
	}
	creds := map[string]*credential{}
	for _, c := range cfg.Credentials {
		cr, err := d.newCredential(c, ids, cfg.WaitForToken)
		if err != nil {
			return err
		}
		creds[c.Name] = cr
	}
	d.ids = &identities{d: d}
	d.ids.cur.Store(&ids)
	d.creds = &credSet{}
	d.creds.cur.Store(newCredSnap(creds))
	return nil
}

// newIdentity makes one identity. A github-actions identity takes its
// request URL and token from the daemon's environment when set there.
func (d *Daemon) newIdentity(id config.Identity) (*identEntry, error) {
	e := &identEntry{cfg: id}
	switch id.Type {
	case "github-actions":
		reqURL, _ := d.opts.Lookup("ACTIONS_ID_TOKEN_REQUEST_URL")
		reqTok, _ := d.opts.Lookup("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		gh, err := identity.NewGitHubActions(identity.GitHubConfig{
			Name: id.Name, RequestURL: reqURL, RequestToken: secret.New(reqTok),
			AllowedHosts: id.AllowedRequestHosts, HTTP: d.opts.HTTP, Logger: d.log,
		})
		if err != nil {
			return nil, fmt.Errorf("identity %q: ACTIONS_ID_TOKEN_REQUEST_URL: %w", id.Name, err)
		}
		e.subject, e.generation = gh, gh.Generation
		e.runtime = &runtimeIdentity{name: id.Name, gh: gh, allowUIDs: id.Allow.UIDs, allowGIDs: id.Allow.GIDs}
	case "file":
		e.subject = identity.NewFile(id.Path)
	default:
		return nil, fmt.Errorf("identity %q: type %q is not supported", id.Name, id.Type)
	}
	return e, nil
}

// newCredential makes one credential's provider and token cache.
func (d *Daemon) newCredential(c config.Credential, ids map[string]*identEntry, wait time.Duration) (*credential, error) {
	prov, err := d.provider(c, d.opts.HTTP)
	if err != nil {
		return nil, fmt.Errorf("credential %q: %w", c.Name, err)
	}
	var subject provider.Subject
	var generation func() uint64
	if id, ok := ids[c.Identity]; ok {
		subject, generation = id.subject, id.generation
	}
	cache := tokens.New(tokens.Config{
		Name: c.Name, Provider: c.Provider, Exchanger: prov, Subject: subject,
		Clock: d.opts.Clock, Logger: d.log, WaitForToken: wait, Generation: generation,
		OnChange: d.obs.credentialChanged, OnExchange: d.obs.exchanged,
	})
	return &credential{
		cache: cache, prov: prov, identity: c.Identity, cfg: c, valueFingerprint: fingerprintOf(prov),
		info: server.CredentialInfo{
			Name: c.Name, Provider: c.Provider, Hosts: c.Hosts, LeaseTTL: c.LeaseTTL,
			AllowUIDs: c.Allow.UIDs, AllowGIDs: c.Allow.GIDs, NeedsBodySHA256: prov.NeedsBodySHA256(),
		},
	}, nil
}

// provider makes the exchanger of one credential; its settings are the
// ones broker/config checked.
func (d *Daemon) provider(c config.Credential, httpc *http.Client) (provider.Provider, error) {
	switch c.Provider {
	case "anthropic":
		return anthropic.New(anthropic.Config{Anthropic: c.Anthropic(), HTTP: httpc, Logger: d.log.Named("anthropic")})
	case "gcp":
		return gcp.New(gcp.Config{GCP: c.GCP(), HTTP: httpc, Logger: d.log.Named("gcp")})
	case "azure":
		return azure.New(azure.Config{Azure: c.Azure(), HTTP: httpc, Logger: d.log.Named("azure")})
	case "openai":
		return openai.New(openai.Config{OpenAI: c.OpenAI(), HTTP: httpc, Logger: d.log.Named("openai")})
	case "aws":
		return aws.New(aws.Config{AWS: c.AWS(), HTTP: httpc, Logger: d.log.Named("aws")})
	case "static":
		return static.New(static.Config{Static: c.Static(), Lookup: d.opts.Lookup})
	default:
		return nil, fmt.Errorf("unknown provider %q", c.Provider)
	}
}
