package config

import (
	"fmt"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// Describe says what the configuration serves, one line per identity and
// credential: where each value comes from (a variable's or file's name,
// never a value), its target, hosts and header, and its sidecar port.
func (c *Config) Describe() []string {
	var out []string
	for _, id := range c.Identities {
		switch id.Type {
		case "file":
			out = append(out, fmt.Sprintf("identity %q: file %s", id.Name, id.Path))
		default:
			hosts := strings.Join(id.AllowedRequestHosts, ", ")
			if hosts == "" {
				hosts = "loopback only"
			}
			out = append(out, fmt.Sprintf("identity %q: github-actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN or run-time registration), request hosts %s",
				id.Name, hosts))
		}
	}
	for _, cr := range c.Credentials {
		var b strings.Builder
		fmt.Fprintf(&b, "credential %q: %s", cr.Name, cr.Provider)
		if cr.Provider == "static" {
			src := cr.ValueFile
			if cr.ValueEnv != "" {
				src = "$" + cr.ValueEnv
			}
			h := cr.Header
			if cr.Scheme != "" {
				h += ": " + cr.Scheme + " <key>"
			}
			fmt.Fprintf(&b, " key from %s in %s", src, h)
			if cr.API != "" {
				fmt.Fprintf(&b, " (%s API defaults)", cr.API)
			}
		} else {
			fmt.Fprintf(&b, " via identity %q", cr.Identity)
		}
		if p := api.APIProxyPort(cr.Name); p != 0 {
			fmt.Fprintf(&b, "; sidecar port %d", p)
		}
		if cr.Target != "" {
			fmt.Fprintf(&b, "; target %s", cr.Target)
		}
		fmt.Fprintf(&b, "; hosts %s", strings.Join(cr.Hosts, ", "))
		out = append(out, b.String())
	}
	for _, n := range c.Notes {
		out = append(out, "note: "+n)
	}
	return out
}
