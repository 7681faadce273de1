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
	for i := range c.Credentials {
		credentialDefaults(&c.Credentials[i])
	}
}

// credentialDefaults fills what the provider implies and the config left out.
func credentialDefaults(c *Credential) {
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	for i, h := range c.Hosts {
		c.Hosts[i] = strings.ToLower(h)
	}
	applyProviderDefaults(c)
	if s := settingsOf(c); s != nil && len(c.Hosts) == 0 {
		c.Hosts = s.DefaultHosts()
	}
}
