package daemon

import (
	"fmt"
	"net/http"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/anthropic"
	"github.com/awf-broker/awf-broker/broker/provider/static"
	"github.com/awf-broker/awf-broker/broker/secret"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/broker/tokens"
)

// build makes the identities and credentials of the config.
func (d *Daemon) build() error {
	httpc := d.opts.HTTP
	if httpc == nil {
		httpc = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	subjects := map[string]provider.Subject{}
	generations := map[string]func() uint64{}
	d.ids = &identities{d: d, byNm: map[string]*runtimeIdentity{}}
	for _, id := range d.cfg.Identities {
		switch id.Type {
		case "github-actions":
			reqURL, _ := d.opts.Lookup("ACTIONS_ID_TOKEN_REQUEST_URL")
			reqTok, _ := d.opts.Lookup("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
			gh, err := identity.NewGitHubActions(identity.GitHubConfig{
				Name: id.Name, RequestURL: reqURL, RequestToken: secret.New(reqTok),
				AllowedHosts: id.AllowedRequestHosts, HTTP: httpc, Logger: d.log,
			})
			if err != nil {
				return fmt.Errorf("identity %q: ACTIONS_ID_TOKEN_REQUEST_URL: %w", id.Name, err)
			}
			subjects[id.Name], generations[id.Name] = gh, gh.Generation
			d.ids.byNm[id.Name] = &runtimeIdentity{name: id.Name, gh: gh, allowUIDs: id.Allow.UIDs, allowGIDs: id.Allow.GIDs}
		case "file":
			subjects[id.Name] = identity.NewFile(id.Path)
		}
	}
	d.creds = &credSet{byName: map[string]*credential{}}
	for _, c := range d.cfg.Credentials {
		prov, err := d.provider(c, httpc)
		if err != nil {
			return fmt.Errorf("credential %q: %w", c.Name, err)
		}
		cache := tokens.New(tokens.Config{
			Name: c.Name, Provider: c.Provider, Exchanger: prov, Subject: subjects[c.Identity],
			Clock: d.opts.Clock, Logger: d.log, WaitForToken: d.cfg.WaitForToken, Generation: generations[c.Identity],
			OnChange: d.obs.credentialChanged, OnExchange: d.obs.exchanged,
		})
		d.creds.byName[c.Name] = &credential{
			cache: cache, prov: prov, identity: c.Identity,
			info: server.CredentialInfo{
				Name: c.Name, Provider: c.Provider, Hosts: c.Hosts, LeaseTTL: c.LeaseTTL,
				AllowUIDs: c.Allow.UIDs, AllowGIDs: c.Allow.GIDs, NeedsBodySHA256: prov.NeedsBodySHA256(),
			},
		}
	}
	d.creds.sorted = sortedCreds(d.creds.byName)
	return nil
}

// provider makes the exchanger of one credential.
func (d *Daemon) provider(c config.Credential, httpc *http.Client) (provider.Provider, error) {
	switch c.Provider {
	case "anthropic":
		return anthropic.New(anthropic.Config{
			FederationRuleID: c.FederationRuleID, OrganizationID: c.OrganizationID,
			ServiceAccountID: c.ServiceAccountID, WorkspaceID: c.WorkspaceID,
			Audience: c.Audience, TokenURL: c.TokenURL, HTTP: httpc, Logger: d.log.Named("anthropic"),
		})
	case "static":
		return static.New(static.Config{Header: c.Header, ValueFile: c.ValueFile, ValueEnv: c.ValueEnv, Lookup: d.opts.Lookup})
	default:
		return nil, fmt.Errorf("provider %q is not supported yet", c.Provider)
	}
}
