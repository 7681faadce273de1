package config

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// FromEnv builds a configuration from the environment of the gh-aw
// api-proxy sidecar, unchanged, and the Anthropic SDK's names (DESIGN §3).
// One credential is built per api-proxy provider the environment
// configures, named after it (openai, anthropic, copilot, gemini, vertex),
// so an OIDC credential and every static key are served side by side:
//
//   - AWF_AUTH_TYPE=github-oidc (trimmed, lower-cased) turns OIDC on for
//     AWF_AUTH_PROVIDER (trimmed, lower-cased, "azure" when absent): the
//     identity "github" and the credential "anthropic" (anthropic) or
//     "openai" (azure, aws, gcp: the api-proxy's port 10000), plus
//     "copilot" for a cloud provider with COPILOT_PROVIDER_BASE_URL and no
//     static Copilot key. Any other AWF_AUTH_TYPE means static keys only.
//   - ANTHROPIC_FEDERATION_RULE_ID and the other SDK names fill what
//     AWF_AUTH_ANTHROPIC_* leave unset; ANTHROPIC_IDENTITY_TOKEN_FILE makes
//     the identity a file (it also works without AWF_AUTH_TYPE).
//   - OPENAI_API_KEY, ANTHROPIC_API_KEY, COPILOT_PROVIDER_API_KEY or
//     COPILOT_GITHUB_TOKEN, GEMINI_API_KEY and GOOGLE_API_KEY are static
//     keys on their providers' credentials, with their targets
//     (*_API_TARGET, *_API_BASE_PATH, COPILOT_PROVIDER_BASE_URL) and
//     header overrides (AWF_*_AUTH_HEADER).
//
// Where the api-proxy is lenient and that is unsafe, the stricter rule is
// kept and Config.Notes says why. Only admins may lease env-derived
// credentials unless AWF_BROKER_ALLOW_UIDS (and _GIDS) list more.
func FromEnv(lookup func(string) (string, bool)) (*Config, error) {
	e := &envReader{lookup: lookup, d: newDraft("env")}
	allow, err := envAllow(e.get)
	if err != nil {
		return nil, err
	}
	e.allow = allow
	if err := e.build(); err != nil {
		return nil, err
	}
	if len(e.d.cfg.Credentials) == 0 {
		return nil, errors.New("env: nothing to serve: set AWF_AUTH_TYPE=github-oidc with AWF_AUTH_PROVIDER, a static key " +
			"(OPENAI_API_KEY, ANTHROPIC_API_KEY, COPILOT_GITHUB_TOKEN, COPILOT_PROVIDER_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY), " +
			"or ANTHROPIC_FEDERATION_RULE_ID with ANTHROPIC_IDENTITY_TOKEN_FILE (or give --config)")
	}
	cfg, err := e.d.finish()
	if err != nil {
		return nil, err
	}
	cfg.Notes = e.notes
	return cfg, nil
}

// envReader carries one FromEnv run: the draft, who may lease, the notes.
type envReader struct {
	lookup func(string) (string, bool)
	d      *draft
	allow  Allow
	notes  []string
	errs   Errors
}

// get returns a variable, trimmed; unset and blank are the same.
func (e *envReader) get(k string) string {
	v, _ := e.lookup(k)
	return strings.TrimSpace(v)
}

func (e *envReader) fail(v, msg string) {
	e.errs = append(e.errs, &Error{Pos: Pos{File: "env", Var: v}, Msg: msg})
}

func (e *envReader) note(msg string) { e.notes = append(e.notes, msg) }

// authProviders are AWF_AUTH_PROVIDER's values.
var authProviders = []string{"anthropic", "aws", "gcp", "azure"}

func (e *envReader) build() error {
	authType := strings.ToLower(e.get("AWF_AUTH_TYPE"))
	prov := strings.ToLower(e.get("AWF_AUTH_PROVIDER"))
	oidc := authType == "github-oidc"
	switch {
	case oidc && prov == "":
		prov = "azure"
		e.note("AWF_AUTH_PROVIDER is unset: azure, as the api-proxy assumes for older workflows")
	case oidc && !oneOf(prov, authProviders):
		e.fail("AWF_AUTH_PROVIDER", "unknown provider "+strconv.Quote(prov)+" (want anthropic, aws, gcp or azure); "+
			"the api-proxy would silently treat it as azure, the broker refuses it")
		return e.errs
	case authType != "" && !oidc:
		e.note("AWF_AUTH_TYPE=" + strconv.Quote(authType) + ": static keys only, as in the api-proxy")
	}
	fileIdentity := e.get("ANTHROPIC_IDENTITY_TOKEN_FILE") != "" && firstOf(e.get, "AWF_AUTH_ANTHROPIC_FEDERATION_RULE_ID", "ANTHROPIC_FEDERATION_RULE_ID") != ""
	var oidcCred string
	switch {
	case oidc && prov == "anthropic", !oidc && fileIdentity:
		oidcCred = e.oidcCredential("anthropic", "anthropic")
	case oidc:
		oidcCred = e.oidcCredential("openai", prov)
		// A cloud's endpoint also serves Copilot BYOK, unless a static
		// Copilot key holds that port.
		if e.get("COPILOT_PROVIDER_BASE_URL") != "" && copilotKeyVar(e) == "" {
			e.oidcCredential("copilot", prov)
		}
	}
	e.staticKeys(oidcCred, prov)
	if len(e.errs) > 0 {
		return e.errs
	}
	return nil
}

// staticKeys adds one static credential per key present, unless the OIDC
// credential already holds its port.
func (e *envReader) staticKeys(oidcCred, prov string) {
	for _, k := range staticKeySpecs {
		keyVar := k.keyVar(e)
		if keyVar == "" {
			continue
		}
		if oidcCred == k.name {
			e.fail(keyVar, "both "+keyVar+" and AWF_AUTH_TYPE=github-oidc (provider "+strconv.Quote(prov)+
				") would serve credential "+strconv.Quote(k.name)+" on one port; unset one "+
				"(the api-proxy silently prefers OIDC; the broker refuses the ambiguity)")
			continue
		}
		e.staticCredential(k, keyVar)
	}
}

// targetURL turns an api-proxy target (a host, host:port or URL) and a
// base path into a base URL, blaming v for what is wrong.
func (e *envReader) targetURL(v, raw, basePathVar string) (string, bool) {
	s := raw
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(u.Host, " \t") {
		e.fail(v, "not a host or base URL: "+strconv.Quote(raw)+" (want e.g. api.example.com or https://gw.example.com/base)")
		return "", false
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if path != "" && v != "COPILOT_PROVIDER_BASE_URL" {
		e.note(v + ": its path " + strconv.Quote(path) + " is the base path (the api-proxy would drop it and use " + basePathVar + ")")
	}
	if bp := e.get(basePathVar); bp != "" {
		path = "/" + strings.Trim(bp, "/")
	}
	if u.Port() != "" {
		e.note(v + ": its port " + u.Port() + " is kept (the api-proxy would drop it)")
	}
	// The rest (https, or http to loopback) is checkTargets', with the
	// default targets.
	return u.Scheme + "://" + strings.ToLower(u.Host) + path, true
}

func firstOf(get func(string) string, names ...string) string {
	for _, n := range names {
		if v := get(n); v != "" {
			return v
		}
	}
	return ""
}

func envAllow(get func(string) string) (Allow, error) {
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
