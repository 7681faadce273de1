package config

import "strings"

func (d *draft) defaults() {
	c := &d.cfg
	if c.Socket.Path == "" {
		c.Socket.Path = DefaultSocketPath
	}
	if c.Socket.Mode == 0 {
		c.Socket.Mode = DefaultSocketMode
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.WaitForToken == 0 {
		c.WaitForToken = DefaultWaitForToken
	}
	c.Limits.defaults()
	for i := range c.Credentials {
		credentialDefaults(&c.Credentials[i])
	}
}

// credentialDefaults fills what the provider implies and the config left out.
func credentialDefaults(c *Credential) {
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.LeaseMaxLifetime == 0 {
		c.LeaseMaxLifetime = DefaultLeaseMaxLifetime // ≥ LeaseTTL, which validate caps at MaxLeaseTTL
	}
	for i, h := range c.Hosts {
		c.Hosts[i] = strings.ToLower(h)
	}
	applyProviderDefaults(c)
	if s := settingsOf(c); s != nil && len(c.Hosts) == 0 {
		c.Hosts = s.DefaultHosts()
	}
	if c.Target == "" {
		c.Target = defaultTarget(c.Hosts)
	}
	c.Target = strings.TrimSuffix(c.Target, "/")
}

func (l *Limits) defaults() {
	for _, f := range limitFields {
		if p := f.field(l); *p == 0 {
			*p = f.def
		}
	}
}
