package config

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var (
	nameRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d+$`)
	sessionRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	roleARNRE = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]+$`)
	wipRE     = regexp.MustCompile(`^projects/\d+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)
	hostRE    = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?(:\d{1,5})?$`)
	// credHostRE also takes "*-" (any first label ending in "-<rest>",
	// as in *-aiplatform.googleapis.com).
	credHostRE = regexp.MustCompile(`^(\*[.-])?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?(:\d{1,5})?$`)
)

var (
	providers  = []string{"anthropic", "openai", "aws", "gcp", "azure", "static"}
	logLevels  = []string{"trace", "debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
	clouds     = []string{"public", "usgovernment", "china"}
	identTypes = []string{"github-actions", "file"}
)

func (d *draft) validate() {
	c := &d.cfg
	if c.WaitForToken < 0 {
		d.add("", "", "wait_for_token", "must be positive")
	}
	if c.Log.Level != "" && !oneOf(c.Log.Level, logLevels) {
		d.add("log", "log", "level", "must be one of %s (got %q)", strings.Join(logLevels, ", "), c.Log.Level)
	}
	if c.Log.Format != "" && !oneOf(c.Log.Format, logFormats) {
		d.add("log", "log", "format", "must be one of %s (got %q)", strings.Join(logFormats, ", "), c.Log.Format)
	}
	if l := c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			d.add("metrics", "metrics", "listen", "must be host:port (got %q)", l)
		}
	}
	seen := map[string]bool{}
	for _, id := range c.Identities {
		d.validateIdentity(id, seen)
	}
	idents := seen
	seen = map[string]bool{}
	for _, cr := range c.Credentials {
		d.validateCredential(cr, idents, seen)
	}
}

// checkName refuses an odd or repeated block name.
func (d *draft) checkName(key, where, name string, seen map[string]bool) {
	if !nameRE.MatchString(name) {
		d.add(key, where, "", "invalid name (want letters, digits, '.', '_', '-'; at most 64)")
	}
	if seen[name] {
		d.add(key, where, "", "defined more than once")
	}
	seen[name] = true
}

func (d *draft) validateIdentity(id Identity, seen map[string]bool) {
	key, where := identKey(id.Name), fmt.Sprintf("identity %q", id.Name)
	d.checkName(key, where, id.Name, seen)
	switch {
	case id.Type == "":
		d.add(key, where, "type", "required (one of %s)", strings.Join(identTypes, ", "))
	case !oneOf(id.Type, identTypes):
		d.add(key, where, "type", "must be one of %s (got %q)", strings.Join(identTypes, ", "), id.Type)
	case id.Type == "file" && id.Path == "":
		d.add(key, where, "path", "required for a file identity")
	}
	for _, h := range id.AllowedRequestHosts {
		if !hostRE.MatchString(h) {
			d.add(key, where, "allowed_request_hosts", "invalid host pattern %q", h)
		}
	}
}

func (d *draft) validateCredential(cr Credential, idents, seen map[string]bool) {
	key, where := credKey(cr.Name), fmt.Sprintf("credential %q", cr.Name)
	req := func(field, val string) {
		if val == "" {
			d.add(key, where, field, "required for provider %q", cr.Provider)
		}
	}
	d.checkName(key, where, cr.Name, seen)
	switch {
	case cr.Provider == "":
		d.add(key, where, "provider", "required (one of %s)", strings.Join(providers, ", "))
		return
	case !oneOf(cr.Provider, providers):
		d.add(key, where, "provider", "must be one of %s (got %q)", strings.Join(providers, ", "), cr.Provider)
		return
	}
	if cr.Provider == "static" {
		if cr.Identity != "" {
			d.add(key, where, "identity", "a static credential takes no identity")
		}
	} else if cr.Identity == "" {
		d.add(key, where, "identity", "required for provider %q", cr.Provider)
	} else if !idents[cr.Identity] {
		d.add(key, where, "identity", "names no identity (%q is not defined)", cr.Identity)
	}
	if d.failed[where+"/lease_ttl"] {
		// already reported as unparsable
	} else if cr.LeaseTTL < 0 || (cr.LeaseTTL == 0 && d.pos[key+"/lease_ttl"] != (Pos{})) {
		d.add(key, where, "lease_ttl", "must be positive")
	} else if cr.LeaseTTL > MaxLeaseTTL {
		d.add(key, where, "lease_ttl", "must be at most 24h (got %s)", cr.LeaseTTL)
	}
	if d.failed[where+"/lease_max_lifetime"] {
		// already reported as unparsable
	} else if cr.LeaseMaxLifetime < 0 || (cr.LeaseMaxLifetime == 0 && d.pos[key+"/lease_max_lifetime"] != (Pos{})) {
		d.add(key, where, "lease_max_lifetime", "must be positive")
	} else if ttl := cmp.Or(cr.LeaseTTL, DefaultLeaseTTL); cr.LeaseMaxLifetime > 0 && cr.LeaseMaxLifetime < ttl {
		d.add(key, where, "lease_max_lifetime", "must be at least lease_ttl (%s), got %s", ttl, cr.LeaseMaxLifetime)
	}
	for _, f := range []struct{ name, val string }{{"token_url", cr.TokenURL}, {"impersonation_url", cr.ImpersonationURL}} {
		if f.val != "" {
			if msg := checkEndpoint(f.val); msg != "" {
				d.add(key, where, f.name, "%s", msg)
			}
		}
	}
	for _, h := range cr.Hosts {
		if !credHostRE.MatchString(h) {
			d.add(key, where, "hosts", "invalid host %q (want a host name, optionally with a leading \"*.\" or \"*-\" and a \":port\")", h)
		}
	}
	switch cr.Provider {
	case "anthropic":
		req("federation_rule_id", cr.FederationRuleID)
		req("organization_id", cr.OrganizationID)
	case "openai":
		req("identity_provider_id", cr.IdentityProviderID)
		req("service_account_id", cr.ServiceAccountID)
	case "static":
		req("header", cr.Header)
		if (cr.ValueFile == "") == (cr.ValueEnv == "") {
			d.add(key, where, "value_file", "exactly one of value_file and value_env is required")
		}
		if len(cr.Hosts) == 0 {
			d.add(key, where, "hosts", "required for provider \"static\"")
		}
	case "aws":
		req("role_arn", cr.RoleARN)
		req("region", cr.Region)
		if cr.RoleARN != "" && !roleARNRE.MatchString(cr.RoleARN) {
			d.add(key, where, "role_arn", "invalid role ARN %q (want arn:aws:iam::<12 digits>:role/NAME)", cr.RoleARN)
		}
		if cr.Region != "" && !regionRE.MatchString(cr.Region) {
			d.add(key, where, "region", "invalid region %q (want e.g. \"us-east-1\")", cr.Region)
		}
		if cr.SessionName != "" && !sessionRE.MatchString(cr.SessionName) {
			d.add(key, where, "session_name", "invalid session name %q (want 2-64 of letters, digits and +=,.@_-)", cr.SessionName)
		}
		if dur := cr.Duration; !d.failed[where+"/duration"] && dur != 0 && (dur < 15*time.Minute || dur > 12*time.Hour || dur%time.Second != 0) {
			d.add(key, where, "duration", "must be whole seconds from 15m to 12h, as STS takes (got %s)", dur)
		}
	case "gcp":
		req("workload_identity_provider", cr.WorkloadIdentityProvider)
		if w := cr.WorkloadIdentityProvider; w != "" && !wipRE.MatchString(w) {
			d.add(key, where, "workload_identity_provider", "invalid provider %q (want projects/N/locations/global/workloadIdentityPools/P/providers/X)", w)
		}
		switch l := cr.Lifetime; {
		case d.failed[where+"/lifetime"] || l == 0:
		case cr.ServiceAccount == "":
			d.add(key, where, "lifetime", "applies only with service_account (impersonation)")
		case l < time.Second || l > 12*time.Hour || l%time.Second != 0:
			d.add(key, where, "lifetime", "must be whole seconds from 1s to 12h (got %s)", l)
		}
	case "azure":
		req("tenant_id", cr.TenantID)
		req("client_id", cr.ClientID)
		if len(cr.Hosts) == 0 {
			d.add(key, where, "hosts", "required for provider \"azure\"")
		}
		if cr.Cloud != "" && !oneOf(cr.Cloud, clouds) {
			d.add(key, where, "cloud", "must be one of %s (got %q)", strings.Join(clouds, ", "), cr.Cloud)
		}
	}
}

// checkEndpoint returns what is wrong with an endpoint URL, or "".
func checkEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("invalid URL %q", raw)
	}
	if u.Scheme == "https" {
		return ""
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		return ""
	}
	return fmt.Sprintf("%q must be https (plain http only to a loopback address)", raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}
