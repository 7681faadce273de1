package config

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// envFields maps a credential field to the variables that set it, first
// wins, per AWF_AUTH_PROVIDER.
var envFields = map[string]map[string][]string{
	"anthropic": {
		"federation_rule_id": {"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "ANTHROPIC_FEDERATION_RULE_ID"},
		"organization_id":    {"AWF_AUTH_ANTHROPIC_ORGANIZATION_ID", "ANTHROPIC_ORGANIZATION_ID"},
		"service_account_id": {"AWF_AUTH_ANTHROPIC_SERVICE_ACCOUNT_ID", "ANTHROPIC_SERVICE_ACCOUNT_ID"},
		"workspace_id":       {"AWF_AUTH_ANTHROPIC_WORKSPACE_ID", "ANTHROPIC_WORKSPACE_ID"},
		"token_url":          {"AWF_AUTH_ANTHROPIC_TOKEN_URL"},
		"audience":           {"AWF_AUTH_OIDC_AUDIENCE"},
	},
	"aws": {
		"role_arn":     {"AWF_AUTH_AWS_ROLE_ARN"},
		"region":       {"AWF_AUTH_AWS_REGION"},
		"session_name": {"AWF_AUTH_AWS_ROLE_SESSION_NAME"},
		"audience":     {"AWF_AUTH_OIDC_AUDIENCE"},
	},
	"gcp": {
		"workload_identity_provider": {"AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER"},
		"service_account":            {"AWF_AUTH_GCP_SERVICE_ACCOUNT"},
		"scope":                      {"AWF_AUTH_GCP_SCOPE"},
		"audience":                   {"AWF_AUTH_OIDC_AUDIENCE"},
	},
	"azure": {
		"tenant_id": {"AWF_AUTH_AZURE_TENANT_ID"},
		"client_id": {"AWF_AUTH_AZURE_CLIENT_ID"},
		"cloud":     {"AWF_AUTH_AZURE_CLOUD"},
		"scope":     {"AWF_AUTH_AZURE_SCOPE"},
		"audience":  {"AWF_AUTH_OIDC_AUDIENCE"},
	},
}

// oidcTargetVars names, per credential, where its upstream comes from.
var oidcTargetVars = map[string][2]string{
	"anthropic": {"ANTHROPIC_API_TARGET", "ANTHROPIC_API_BASE_PATH"},
	"openai":    {"OPENAI_API_TARGET", "OPENAI_API_BASE_PATH"},
	"copilot":   {"COPILOT_PROVIDER_BASE_URL", "COPILOT_API_BASE_PATH"},
}

// envSessionName is the api-proxy's default AWS role session name.
const envSessionName = "awf-oidc-session"

// oidcCredential adds the credential name exchanging prov's OIDC tokens,
// and the identity it uses, and returns name.
func (e *envReader) oidcCredential(name, prov string) string {
	d := e.d
	key := credKey(name)
	d.pos[key] = Pos{File: "env", Var: "AWF_AUTH_PROVIDER"}
	c := Credential{Name: name, Provider: prov, Identity: "github", Allow: e.allow}
	for field, vars := range envFields[prov] {
		for _, v := range vars {
			if val := e.get(v); val != "" {
				if field == "cloud" {
					if val = strings.ToLower(val); !oneOf(val, settings.AzureClouds()) {
						e.fail(v, "unknown cloud "+strconv.Quote(val)+" (want public, usgovernment or china); "+
							"the api-proxy would fall back to the public cloud and send the token there, the broker refuses it")
						break
					}
				}
				*stringFields[field](&c) = val
				d.pos[key+"/"+field] = Pos{File: "env", Var: v}
				break
			}
		}
		if _, set := d.pos[key+"/"+field]; !set {
			// A problem with an unset field names its first variable.
			d.pos[key+"/"+field] = Pos{File: "env", Var: vars[0]}
		}
	}
	if prov == "aws" && c.SessionName == "" {
		c.SessionName = envSessionName
	}
	tv := oidcTargetVars[name]
	if raw := e.get(tv[0]); raw != "" {
		if t, ok := e.targetURL(tv[0], raw, tv[1]); ok {
			c.Target = t
			u, _ := url.Parse(t)
			c.Hosts, d.pos[key+"/hosts"] = []string{strings.ToLower(u.Host)}, Pos{File: "env", Var: tv[0]}
			d.pos[key+"/target"] = Pos{File: "env", Var: tv[0]}
		}
	} else if prov == "azure" {
		// The api-proxy would send the Entra token to api.openai.com.
		d.pos[key+"/hosts"] = Pos{File: "env", Var: tv[0]}
	}
	e.addGitHubIdentity(prov)
	d.cfg.Credentials = append(d.cfg.Credentials, c)
	return name
}

// addGitHubIdentity adds the identity "github" once: the runner's OIDC
// endpoint from ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, whose host is allowed
// besides GitHub.com's (GitHub Enterprise Server runners use their own),
// or ANTHROPIC_IDENTITY_TOKEN_FILE for Anthropic.
func (e *envReader) addGitHubIdentity(prov string) {
	if _, ok := e.d.cfg.Identity("github"); ok {
		return
	}
	id := Identity{Name: "github", Type: "github-actions", AllowedRequestHosts: []string{"*.actions.githubusercontent.com"}}
	if f := e.get("ANTHROPIC_IDENTITY_TOKEN_FILE"); f != "" && prov == "anthropic" {
		id = Identity{Name: "github", Type: "file", Path: f}
	} else if raw := e.get("ACTIONS_ID_TOKEN_REQUEST_URL"); raw != "" {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Hostname() == "":
			e.fail("ACTIONS_ID_TOKEN_REQUEST_URL", "not a URL")
		case !strings.HasSuffix(strings.ToLower(u.Hostname()), ".actions.githubusercontent.com") && !settings.IsLoopbackHost(u.Hostname()):
			id.AllowedRequestHosts = append(id.AllowedRequestHosts, strings.ToLower(u.Hostname()))
			e.note("ACTIONS_ID_TOKEN_REQUEST_URL names " + strings.ToLower(u.Hostname()) + " (a GitHub Enterprise Server runner?): it is allowed as a request host")
		}
	}
	e.d.pos[identKey("github")] = Pos{File: "env", Var: "AWF_AUTH_TYPE"}
	e.d.cfg.Identities = append(e.d.cfg.Identities, id)
}
