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
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.LeaseMaxLifetime == 0 {
		c.LeaseMaxLifetime = max(DefaultLeaseMaxLifetime, c.LeaseTTL)
	}
	for i, h := range c.Hosts {
		c.Hosts[i] = strings.ToLower(h)
	}
	var hosts []string
	switch c.Provider {
	case "anthropic":
		set(&c.Audience, "https://api.anthropic.com")
		set(&c.TokenURL, "https://api.anthropic.com/v1/oauth/token")
		hosts = []string{"api.anthropic.com"}
	case "openai":
		set(&c.Audience, "https://api.openai.com/v1")
		set(&c.TokenURL, "https://auth.openai.com/oauth/token")
		hosts = []string{"api.openai.com"}
	case "aws":
		suffix := "amazonaws.com"
		if strings.HasPrefix(c.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		set(&c.Audience, "sts.amazonaws.com")
		set(&c.TokenURL, "https://sts."+c.Region+"."+suffix)
		set(&c.SessionName, "awf-broker")
		hosts = []string{"bedrock-runtime." + c.Region + "." + suffix}
	case "gcp":
		set(&c.Audience, "https://iam.googleapis.com/"+c.WorkloadIdentityProvider)
		set(&c.TokenURL, "https://sts.googleapis.com/v1/token")
		set(&c.ImpersonationURL, "https://iamcredentials.googleapis.com")
		set(&c.Scope, "https://www.googleapis.com/auth/cloud-platform")
		hosts = []string{"aiplatform.googleapis.com", "*-aiplatform.googleapis.com"}
	case "azure":
		set(&c.Cloud, "public")
		login, aud, scope := azureCloud(c.Cloud)
		set(&c.Audience, aud)
		set(&c.TokenURL, "https://"+login+"/"+c.TenantID+"/oauth2/v2.0/token")
		set(&c.Scope, scope)
	}
	if len(c.Hosts) == 0 {
		c.Hosts = hosts
	}
}

// azureCloud returns a cloud's login host, token-exchange audience and
// default scope (protocols.md §5).
func azureCloud(cloud string) (login, audience, scope string) {
	switch cloud {
	case "usgovernment":
		return "login.microsoftonline.us", "api://AzureADTokenExchangeUSGov", "https://cognitiveservices.azure.us/.default"
	case "china":
		return "login.chinacloudapi.cn", "api://AzureADTokenExchangeChina", "https://cognitiveservices.azure.cn/.default"
	default:
		return "login.microsoftonline.com", "api://AzureADTokenExchange", "https://cognitiveservices.azure.com/.default"
	}
}

func (l *Limits) defaults() {
	if l.LeasesPerUID == 0 {
		l.LeasesPerUID = DefaultLeasesPerUID
	}
	if l.SubscribersPerUID == 0 {
		l.SubscribersPerUID = DefaultSubscribersPerUID
	}
	if l.ConnectionsPerUID == 0 {
		l.ConnectionsPerUID = DefaultConnectionsPerUID
	}
}
