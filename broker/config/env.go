package config

import (
	"errors"
	"strconv"
	"strings"
)

// FromEnv builds a configuration from the environment, for drop-in use in
// place of gh-aw's api-proxy (DESIGN §3):
//
//   - AWF_AUTH_TYPE=github-oidc with AWF_AUTH_PROVIDER=anthropic|aws|gcp|azure
//     builds the identity "github" (the request URL and token are read from
//     ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN by the identity at start) and one
//     credential named after the provider from the AWF_AUTH_* variables;
//   - the Anthropic SDK's names (ANTHROPIC_FEDERATION_RULE_ID, …) fill what
//     AWF_AUTH_ANTHROPIC_* leave unset, and ANTHROPIC_IDENTITY_TOKEN_FILE
//     makes the identity a file instead (it also works without AWF_AUTH_TYPE);
//   - otherwise ANTHROPIC_API_KEY yields the static credential "anthropic".
//
// Only admins may lease env-derived credentials unless AWF_BROKER_ALLOW_UIDS
// (and AWF_BROKER_ALLOW_GIDS) list more, comma-separated.
func FromEnv(lookup func(string) (string, bool)) (*Config, error) {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	d := newDraft("env")
	allow, err := envAllow(d, get)
	if err != nil {
		return nil, err
	}
	authType, prov := get("AWF_AUTH_TYPE"), get("AWF_AUTH_PROVIDER")
	switch {
	case authType == "github-oidc":
		if prov == "" {
			return nil, Errors{{Pos: Pos{File: "env", Var: "AWF_AUTH_PROVIDER"}, Msg: "required when AWF_AUTH_TYPE=github-oidc (anthropic, aws, gcp or azure)"}}
		}
		if !oneOf(prov, []string{"anthropic", "aws", "gcp", "azure"}) {
			return nil, Errors{{Pos: Pos{File: "env", Var: "AWF_AUTH_PROVIDER"}, Msg: "must be anthropic, aws, gcp or azure (got " + strconv.Quote(prov) + ")"}}
		}
		d.oidcCredential(prov, get, allow)
	case authType != "":
		return nil, Errors{{Pos: Pos{File: "env", Var: "AWF_AUTH_TYPE"}, Msg: "must be github-oidc (got " + strconv.Quote(authType) + ")"}}
	case get("ANTHROPIC_IDENTITY_TOKEN_FILE") != "" && firstOf(get, "ANTHROPIC_FEDERATION_RULE_ID") != "":
		d.oidcCredential("anthropic", get, allow)
	case get("ANTHROPIC_API_KEY") != "":
		d.cfg.Credentials = append(d.cfg.Credentials, Credential{
			Name: "anthropic", Provider: "static", Header: "x-api-key", ValueEnv: "ANTHROPIC_API_KEY",
			Hosts: []string{"api.anthropic.com"}, Allow: allow,
		})
	default:
		return nil, errors.New("env: nothing to serve: set AWF_AUTH_TYPE=github-oidc with AWF_AUTH_PROVIDER, ANTHROPIC_FEDERATION_RULE_ID with ANTHROPIC_IDENTITY_TOKEN_FILE, or ANTHROPIC_API_KEY (or give --config)")
	}
	return d.finish()
}

// envFields maps a credential field to the variables that set it, first wins.
var envFields = map[string][]string{
	"federation_rule_id":         {"AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "ANTHROPIC_FEDERATION_RULE_ID"},
	"organization_id":            {"AWF_AUTH_ANTHROPIC_ORGANIZATION_ID", "ANTHROPIC_ORGANIZATION_ID"},
	"service_account_id":         {"AWF_AUTH_ANTHROPIC_SERVICE_ACCOUNT_ID", "ANTHROPIC_SERVICE_ACCOUNT_ID"},
	"workspace_id":               {"AWF_AUTH_ANTHROPIC_WORKSPACE_ID", "ANTHROPIC_WORKSPACE_ID"},
	"audience":                   {"AWF_AUTH_OIDC_AUDIENCE"},
	"role_arn":                   {"AWF_AUTH_AWS_ROLE_ARN"},
	"region":                     {"AWF_AUTH_AWS_REGION"},
	"session_name":               {"AWF_AUTH_AWS_ROLE_SESSION_NAME"},
	"workload_identity_provider": {"AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER"},
	"service_account":            {"AWF_AUTH_GCP_SERVICE_ACCOUNT"},
	"tenant_id":                  {"AWF_AUTH_AZURE_TENANT_ID"},
	"client_id":                  {"AWF_AUTH_AZURE_CLIENT_ID"},
	"cloud":                      {"AWF_AUTH_AZURE_CLOUD"},
}

// scopeVars and tokenURLVars are per provider.
var (
	scopeVars    = map[string]string{"gcp": "AWF_AUTH_GCP_SCOPE", "azure": "AWF_AUTH_AZURE_SCOPE"}
	tokenURLVars = map[string]string{"anthropic": "AWF_AUTH_ANTHROPIC_TOKEN_URL"}
	// requiredVars names, per provider, the variable to blame for a missing field.
	requiredVars = map[string]map[string]string{
		"anthropic": {"federation_rule_id": "AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "organization_id": "AWF_AUTH_ANTHROPIC_ORGANIZATION_ID"},
		"aws":       {"role_arn": "AWF_AUTH_AWS_ROLE_ARN", "region": "AWF_AUTH_AWS_REGION"},
		"gcp":       {"workload_identity_provider": "AWF_AUTH_GCP_WORKLOAD_IDENTITY_PROVIDER"},
		"azure":     {"tenant_id": "AWF_AUTH_AZURE_TENANT_ID", "client_id": "AWF_AUTH_AZURE_CLIENT_ID"},
	}
)

func (d *draft) oidcCredential(prov string, get func(string) string, allow Allow) {
	key := credKey(prov)
	d.pos[key] = Pos{File: "env", Var: "AWF_AUTH_PROVIDER"}
	c := Credential{Name: prov, Provider: prov, Identity: "github", Allow: allow}
	for field, vars := range envFields {
		for _, v := range vars {
			if val := get(v); val != "" {
				*stringFields[field](&c) = val
				d.pos[key+"/"+field] = Pos{File: "env", Var: v}
				break
			}
		}
		if _, set := d.pos[key+"/"+field]; !set {
			if blame, ok := requiredVars[prov][field]; ok {
				d.pos[key+"/"+field] = Pos{File: "env", Var: blame}
			}
		}
	}
	if v := scopeVars[prov]; v != "" && get(v) != "" {
		c.Scope, d.pos[key+"/scope"] = get(v), Pos{File: "env", Var: v}
	}
	if v := tokenURLVars[prov]; v != "" && get(v) != "" {
		c.TokenURL, d.pos[key+"/token_url"] = get(v), Pos{File: "env", Var: v}
	}
	// gh-aw's api-proxy sends Azure OpenAI and Vertex traffic to
	// OPENAI_API_TARGET (a host); it is the credential's host ceiling.
	if t := get(targetVar); t != "" && (prov == "azure" || prov == "gcp") {
		c.Hosts, d.pos[key+"/hosts"] = []string{strings.ToLower(targetHost(t))}, Pos{File: "env", Var: targetVar}
	} else if prov == "azure" {
		d.pos[key+"/hosts"] = Pos{File: "env", Var: targetVar}
	}
	id := Identity{Name: "github", Type: "github-actions", AllowedRequestHosts: []string{"*.actions.githubusercontent.com"}}
	if f := get("ANTHROPIC_IDENTITY_TOKEN_FILE"); f != "" && prov == "anthropic" {
		id = Identity{Name: "github", Type: "file", Path: f}
	}
	d.pos[identKey("github")] = Pos{File: "env", Var: "AWF_AUTH_TYPE"}
	d.cfg.Identities = append(d.cfg.Identities, id)
	d.cfg.Credentials = append(d.cfg.Credentials, c)
}

// targetVar names the api-proxy's upstream host for the openai port.
const targetVar = "OPENAI_API_TARGET"

// targetHost returns the host of a target given as a host or a URL.
func targetHost(t string) string {
	if _, rest, ok := strings.Cut(t, "://"); ok {
		t = rest
	}
	host, _, _ := strings.Cut(t, "/")
	return host
}

func envAllow(d *draft, get func(string) string) (Allow, error) {
	var a Allow
	for _, v := range []struct {
		name string
		dst  *[]uint32
	}{{"AWF_BROKER_ALLOW_UIDS", &a.UIDs}, {"AWF_BROKER_ALLOW_GIDS", &a.GIDs}} {
		for _, s := range strings.Split(get(v.name), ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return a, Errors{{Pos: Pos{File: "env", Var: v.name}, Msg: "invalid id " + strconv.Quote(s) + " (want comma-separated whole numbers)"}}
			}
			*v.dst = append(*v.dst, uint32(n))
		}
	}
	return a, nil
}

func firstOf(get func(string) string, names ...string) string {
	for _, n := range names {
		if v := get(n); v != "" {
			return v
		}
	}
	return ""
}
