package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// nameRE is an identity's or credential's name.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)

var (
	logLevels  = []string{"trace", "debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
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
	if msg := CheckMetricsListen(c.Metrics); msg != "" {
		d.add("metrics", "metrics", "listen", "%s", msg)
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
		if !settings.ValidRequestHost(h) {
			d.add(key, where, "allowed_request_hosts", "invalid host pattern %q", h)
		}
	}
}

func (d *draft) validateCredential(cr Credential, idents, seen map[string]bool) {
	key, where := credKey(cr.Name), fmt.Sprintf("credential %q", cr.Name)
	d.checkName(key, where, cr.Name, seen)
	providers := settings.Names()
	switch {
	case cr.Provider == "":
		d.add(key, where, "provider", "required (one of %s)", strings.Join(providers, ", "))
		return
	case !oneOf(cr.Provider, providers):
		d.add(key, where, "provider", "must be one of %s (got %q)", strings.Join(providers, ", "), cr.Provider)
		return
	}
	s := settingsOf(&cr)
	if !s.NeedsIdentity() {
		if cr.Identity != "" {
			d.add(key, where, "identity", "a %s credential takes no identity", cr.Provider)
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
	for _, h := range cr.Hosts {
		if !settings.ValidHost(h) {
			d.add(key, where, "hosts", "invalid host %q (want a host name, optionally with a leading \"*.\" or \"*-\" and a \":port\")", h)
		}
	}
	if len(cr.Hosts) == 0 && s.DefaultHosts() == nil {
		d.add(key, where, "hosts", "required for provider %q", cr.Provider)
	}
	var fes settings.Errors
	if err := s.Check(); errors.As(err, &fes) {
		for _, fe := range fes {
			if !d.failed[where+"/"+fe.Field] { // an unparsable duration is already reported
				d.add(key, where, fe.Field, "%s", fe.Msg)
			}
		}
	}
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}
