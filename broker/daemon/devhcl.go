package daemon

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HCL returns a config file equivalent to d.Config for a daemon run as a
// separate process (awf-brokerd --config) against the fakes of d; that
// process needs d.Env in its environment. Only what StartDev sets is
// written, so a new provider added to StartDev needs a line here too.
func (d *Dev) HCL() string {
	var b strings.Builder
	c := d.Config
	fmt.Fprintf(&b, "wait_for_token = %q\n", c.WaitForToken.String())
	fmt.Fprintf(&b, "socket {\n  path = %q\n  mode = %q\n}\n", c.Socket.Path, fmt.Sprintf("0%o", c.Socket.Mode))
	fmt.Fprintf(&b, "log {\n  level = %q\n  format = %q\n}\n", c.Log.Level, c.Log.Format)
	for _, id := range c.Identities {
		hosts := make([]string, len(id.AllowedRequestHosts))
		for i, h := range id.AllowedRequestHosts {
			hosts[i] = strconv.Quote(h)
		}
		fmt.Fprintf(&b, "identity %q {\n  type = %q\n  allowed_request_hosts = [%s]\n  allow {\n    uids = %s\n  }\n}\n",
			id.Name, id.Type, strings.Join(hosts, ", "), uids(id.Allow.UIDs))
	}
	for _, cr := range c.Credentials {
		fmt.Fprintf(&b, "credential %q {\n  provider = %q\n", cr.Name, cr.Provider)
		attr := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %s = %q\n", k, v)
			}
		}
		attr("identity", cr.Identity)
		attr("audience", cr.Audience)
		attr("token_url", cr.TokenURL)
		attr("federation_rule_id", cr.FederationRuleID)
		attr("organization_id", cr.OrganizationID)
		attr("service_account_id", cr.ServiceAccountID)
		attr("header", cr.Header)
		attr("value_env", cr.ValueEnv)
		attr("value_file", cr.ValueFile)
		attr("role_arn", cr.RoleARN)
		attr("region", cr.Region)
		attr("session_name", cr.SessionName)
		attr("workload_identity_provider", cr.WorkloadIdentityProvider)
		attr("service_account", cr.ServiceAccount)
		attr("impersonation_url", cr.ImpersonationURL)
		attr("scope", cr.Scope)
		attr("tenant_id", cr.TenantID)
		attr("client_id", cr.ClientID)
		attr("cloud", cr.Cloud)
		attr("identity_provider_id", cr.IdentityProviderID)
		for k, v := range map[string]time.Duration{"duration": cr.Duration, "lifetime": cr.Lifetime} {
			if v != 0 {
				attr(k, v.String())
			}
		}
		attr("lease_ttl", cr.LeaseTTL.String())
		hosts := make([]string, len(cr.Hosts))
		for i, h := range cr.Hosts {
			hosts[i] = strconv.Quote(h)
		}
		fmt.Fprintf(&b, "  hosts = [%s]\n  allow {\n    uids = %s\n  }\n}\n", strings.Join(hosts, ", "), uids(cr.Allow.UIDs))
	}
	return b.String()
}

func uids(us []uint32) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = strconv.FormatUint(uint64(u), 10)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// Environ returns d.Env as KEY=VALUE lines for a child process.
func (d *Dev) Environ() []string {
	out := make([]string, 0, len(d.Env))
	for k, v := range d.Env {
		out = append(out, k+"="+v)
	}
	return out
}
