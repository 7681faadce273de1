package daemon

import (
	"fmt"
	"net/http"
	"time"

	"github.com/awf-broker/awf-broker/broker/catalog"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/anthropic"
	"github.com/awf-broker/awf-broker/broker/provider/aws"
	"github.com/awf-broker/awf-broker/broker/provider/azure"
	"github.com/awf-broker/awf-broker/broker/provider/gcp"
	"github.com/awf-broker/awf-broker/broker/provider/openai"
	"github.com/awf-broker/awf-broker/broker/provider/static"
	"github.com/awf-broker/awf-broker/broker/reload"
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
	ids := map[string]*catalog.IdentityEntry{}
	for _, id := range cfg.Identities {
		e, err := d.newIdentity(id)
		if err != nil {
			return err
		}
		ids[id.Name] = e
	}
	creds := map[string]*catalog.Entry{}
	for _, c := range cfg.Credentials {
		spec, err := planOf(c, ids[c.Identity], cfg.WaitForToken)
		if err != nil {
			return err
		}
		cr, err := d.newCredential(c, ids[c.Identity], cfg.WaitForToken, spec)
		if err != nil {
			return err
		}
		creds[c.Name] = cr
	}
	d.ids.Store(ids)
	d.creds.Store(catalog.NewSnapshot(creds))
	return nil
}

// newIdentity makes one identity. A github-actions identity takes its
// request URL and token from the daemon's environment when set there.
func (d *Daemon) newIdentity(id config.Identity) (*catalog.IdentityEntry, error) {
	e := &catalog.IdentityEntry{Fingerprint: identityFingerprint(id)}
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
		e.Subject, e.Generation, e.Runtime = gh, gh.Generation, gh
	case "file":
		e.Subject = identity.NewFile(id.Path)
	default:
		return nil, fmt.Errorf("identity %q: type %q is not supported", id.Name, id.Type)
	}
	return e, nil
}

// planOf is what a reload plan compares of credential c of the config,
// exchanging identity id (nil for none). It reads c's value_file, if any,
// for the fingerprint.
//
// The shape is the provider: whether a lease's requests need a body hash
// follows from it (aws signs the body, no other provider does), and the
// header a provider sets is part of its config, which the fingerprint
// covers.
func planOf(c config.Credential, id *catalog.IdentityEntry, wait time.Duration) (reload.Spec, error) {
	var idFP, binding string
	if id != nil {
		idFP = id.Fingerprint
		if id.Runtime != nil {
			binding = c.Identity + "#" + id.Fingerprint
		}
	}
	fp, err := credentialFingerprint(c, wait, idFP)
	if err != nil {
		return reload.Spec{}, err
	}
	return reload.Spec{Name: c.Name, Fingerprint: fp, Binding: binding,
		Shape: c.Provider, Hosts: c.Hosts,
		LeaseTTL: c.LeaseTTL, LeaseMaxLifetime: c.LeaseMaxLifetime}, nil
}

// newCredential makes one credential's provider and token cache, exchanging
// identity id (nil for none); spec is its planOf.
func (d *Daemon) newCredential(c config.Credential, id *catalog.IdentityEntry, wait time.Duration, spec reload.Spec) (*catalog.Entry, error) {
	prov, err := d.provider(c, d.opts.HTTP)
	if err != nil {
		return nil, fmt.Errorf("credential %q: %w", c.Name, err)
	}
	var subject provider.Subject
	var generation func() uint64
	if id != nil {
		subject, generation = id.Subject, id.Generation
	}
	var unbound func() bool
	if id != nil && id.Runtime != nil {
		gh := id.Runtime
		unbound = func() bool { return !gh.Registered() }
	}
	cache := tokens.New(tokens.Config{
		Name: c.Name, Provider: c.Provider, Exchanger: prov, Subject: subject,
		Clock: d.opts.Clock, Logger: d.log, WaitForToken: wait, Generation: generation,
		OnChange: d.obs.CredentialChanged, OnExchange: d.obs.Exchanged,
	})
	info := server.Description{
		Name: c.Name, Provider: c.Provider, Hosts: c.Hosts, Target: c.Target, LeaseTTL: c.LeaseTTL,
		LeaseMaxLifetime: c.LeaseMaxLifetime, NeedsBodySHA256: prov.NeedsBodySHA256(),
	}
	return catalog.NewEntry(info, cache, prov, c.Identity, spec, unbound), nil
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
		p, err := static.New(static.Config{Static: c.Static(), Lookup: d.opts.Lookup})
		if err != nil || c.API != "anthropic" {
			return p, err
		}
		return anthropic.StaticKey{Provider: p}, nil
	default:
		return nil, fmt.Errorf("unknown provider %q", c.Provider)
	}
}
