package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// checkTarget returns what is wrong with a credential's target base URL,
// or "": https (plain http only to a loopback address), a host, an
// optional port and path, and nothing else.
func checkTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return fmt.Sprintf("invalid target %q (want a base URL like https://api.example.com or https://gw.example.com/anthropic)", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Sprintf("invalid target %q: only scheme, host, port and path are allowed", u.Redacted())
	}
	if msg := settings.CheckEndpoint(raw); msg != "" {
		return msg
	}
	return ""
}

// defaultTarget is the first host's API base (settings.DefaultTarget),
// when it names one host.
func defaultTarget(hosts []string) string {
	if len(hosts) == 0 || strings.HasPrefix(hosts[0], "*") {
		return ""
	}
	return settings.DefaultTarget(hosts[0])
}

// checkTargets runs after defaults, so that a default target is checked
// too, and is the one place targets are: each must be a base URL
// (checkTarget) inside its credential's hosts (by the leases' own matching
// rule), or no lease could ever be granted for it. A credential validate
// already refused has only a target it was given checked: its hosts, or
// the fields its default target comes from, may be what is wrong.
func (d *draft) checkTargets() {
	refused := map[string]bool{}
	for _, e := range d.e.list {
		refused[e.Where] = true
	}
	for _, cr := range d.cfg.Credentials {
		key, where := credKey(cr.Name), fmt.Sprintf("credential %q", cr.Name)
		_, given := d.pos[key+"/target"]
		if cr.Target == "" || (refused[where] && !given) {
			continue
		}
		if msg := checkTarget(cr.Target); msg != "" {
			d.add(key, where, "target", "%s", msg)
			continue
		}
		if refused[where] {
			continue
		}
		u, _ := url.Parse(cr.Target) // checkTarget parsed it
		covered := false
		for _, h := range cr.Hosts {
			covered = covered || settings.MatchHost(h, u.Host)
		}
		if !covered {
			d.add(key, where, "target", "host %q is not in the credential's hosts (%s)", strings.ToLower(u.Host), strings.Join(cr.Hosts, ", "))
		}
	}
}
