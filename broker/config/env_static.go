package config

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// staticKeySpec is one api-proxy provider's static key: where the key,
// its target and its header override come from.
type staticKeySpec struct {
	name string
	// keyVar returns the variable holding the key in use, or "".
	keyVar func(e *envReader) string
	// targetVar and basePathVar give the upstream; defHost's API base
	// (settings.DefaultTarget) when unset.
	targetVar, basePathVar, defHost string
	// header is the default header; headerVar overrides it.
	header, headerVar string
	// scheme prefixes the key in the header ("Bearer").
	scheme string
	api    string
}

func keyVar(name string) func(*envReader) string {
	return func(e *envReader) string {
		if e.get(name) != "" {
			return name
		}
		return ""
	}
}

// staticKeySpecs are the api-proxy's static keys, in port order.
var staticKeySpecs = []staticKeySpec{
	{name: "openai", keyVar: keyVar("OPENAI_API_KEY"), targetVar: "OPENAI_API_TARGET", basePathVar: "OPENAI_API_BASE_PATH",
		defHost: "api.openai.com", header: "authorization", headerVar: "AWF_OPENAI_AUTH_HEADER", scheme: "Bearer"},
	{name: "anthropic", keyVar: keyVar("ANTHROPIC_API_KEY"), targetVar: "ANTHROPIC_API_TARGET", basePathVar: "ANTHROPIC_API_BASE_PATH",
		defHost: "api.anthropic.com", header: "x-api-key", headerVar: "AWF_ANTHROPIC_AUTH_HEADER", api: "anthropic"},
	{name: "copilot", keyVar: copilotKeyVar, basePathVar: "COPILOT_API_BASE_PATH", header: "authorization", scheme: "Bearer"},
	{name: "gemini", keyVar: keyVar("GEMINI_API_KEY"), targetVar: "GEMINI_API_TARGET", basePathVar: "GEMINI_API_BASE_PATH",
		defHost: "generativelanguage.googleapis.com", header: "x-goog-api-key"},
	{name: "vertex", keyVar: keyVar("GOOGLE_API_KEY"), targetVar: "VERTEX_API_TARGET", basePathVar: "VERTEX_API_BASE_PATH",
		defHost: "aiplatform.googleapis.com", header: "x-goog-api-key"},
}

// copilotPlaceholders are values gh-aw puts in COPILOT_PROVIDER_API_KEY
// that are not keys: AWF's agent-side placeholder and gh-aw's offline
// dummy. The api-proxy ignores them; so does the broker.
var copilotPlaceholders = []string{"ghu_" + strings.Repeat("a", 36), "dummy-byok-key-for-offline-mode"}

// copilotKeyVar is COPILOT_PROVIDER_API_KEY (a BYOK key) unless blank or a
// placeholder, else COPILOT_GITHUB_TOKEN: the api-proxy's precedence.
func copilotKeyVar(e *envReader) string {
	if k := settings.StripScheme(e.get("COPILOT_PROVIDER_API_KEY")); k != "" && !oneOf(k, copilotPlaceholders) {
		return "COPILOT_PROVIDER_API_KEY"
	}
	if settings.StripScheme(e.get("COPILOT_GITHUB_TOKEN")) != "" {
		return "COPILOT_GITHUB_TOKEN"
	}
	return ""
}

// headerNameRE is an HTTP field name (RFC 9110 token).
var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// staticCredential adds the static credential of spec k, keyed by keyVar.
func (e *envReader) staticCredential(k staticKeySpec, keyVar string) {
	d := e.d
	key := credKey(k.name)
	d.pos[key] = Pos{File: "env", Var: keyVar}
	c := Credential{Name: k.name, Provider: "static", Header: k.header, Scheme: k.scheme, ValueEnv: keyVar, API: k.api, Allow: e.allow}
	if k.headerVar != "" {
		if h := e.get(k.headerVar); h != "" {
			if !headerNameRE.MatchString(h) {
				e.fail(k.headerVar, "not a header name: "+strconv.Quote(h))
				return
			}
			// The api-proxy sends the key as it is in an overridden header.
			c.Header, c.Scheme = strings.ToLower(h), ""
			d.pos[key+"/header"] = Pos{File: "env", Var: k.headerVar}
		}
	}
	target, tvar := "", k.targetVar
	if k.defHost != "" {
		target = settings.DefaultTarget(k.defHost)
	}
	if k.name == "copilot" {
		target, tvar = e.copilotTarget(keyVar)
	}
	if raw := e.get(tvar); raw != "" {
		t, ok := e.targetURL(tvar, raw, k.basePathVar)
		if !ok {
			return
		}
		target = t
		d.pos[key+"/target"] = Pos{File: "env", Var: tvar}
	} else if bp := e.get(k.basePathVar); bp != "" && k.basePathVar != "" {
		u, _ := url.Parse(target)
		target = u.Scheme + "://" + u.Host + "/" + strings.Trim(bp, "/")
		d.pos[key+"/target"] = Pos{File: "env", Var: k.basePathVar}
	}
	u, _ := url.Parse(target)
	c.Target, c.Hosts = target, []string{strings.ToLower(u.Host)}
	if p, ok := d.pos[key+"/target"]; ok {
		d.pos[key+"/hosts"] = p
	}
	if k.name == "copilot" && keyVar == "COPILOT_GITHUB_TOKEN" && githubTokenScheme(u.Hostname(), e.get("GITHUB_SERVER_URL")) {
		c.Scheme = "token"
	}
	d.cfg.Credentials = append(d.cfg.Credentials, c)
}

// copilotTarget returns the Copilot port's default upstream and the
// variable that overrides it: a BYOK key goes to COPILOT_PROVIDER_BASE_URL,
// the GitHub token to COPILOT_API_TARGET, else a host derived from
// GITHUB_SERVER_URL as the api-proxy does.
func (e *envReader) copilotTarget(keyVar string) (target, targetVar string) {
	if keyVar == "COPILOT_PROVIDER_API_KEY" && e.get("COPILOT_PROVIDER_BASE_URL") != "" {
		return "", "COPILOT_PROVIDER_BASE_URL"
	}
	host := "api.githubcopilot.com"
	if u, err := url.Parse(e.get("GITHUB_SERVER_URL")); err == nil && u.Hostname() != "" {
		switch h := strings.ToLower(u.Hostname()); {
		case h == "github.com":
		case strings.HasSuffix(h, ".ghe.com"):
			host = "copilot-api." + strings.TrimSuffix(h, ".ghe.com") + ".ghe.com"
		default:
			host = "api.enterprise.githubcopilot.com"
		}
	}
	return "https://" + host, "COPILOT_API_TARGET"
}

// githubTokenScheme reports whether a GitHub token sent to the Copilot
// host must use "token" rather than "Bearer" (the api-proxy's rule: the
// enterprise, business and GHE.com data-residency hosts, and GHES).
func githubTokenScheme(host, serverURL string) bool {
	switch {
	case host == "api.enterprise.githubcopilot.com", host == "api.business.githubcopilot.com":
		return true
	case strings.HasPrefix(host, "copilot-api.") && strings.HasSuffix(host, ".ghe.com") && strings.Count(host, ".") == 3:
		return true
	}
	u, err := url.Parse(serverURL)
	if err != nil || u.Hostname() == "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h != "github.com" && !strings.HasSuffix(h, ".ghe.com")
}
