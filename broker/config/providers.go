package config

import "github.com/awf-broker/awf-broker/broker/provider/settings"

// Each provider's fields, defaults and checks live in provider/settings;
// the methods below only move a Credential's fields into and out of them.

// Anthropic returns c's settings for the anthropic provider.
func (c *Credential) Anthropic() settings.Anthropic {
	return settings.Anthropic{FederationRuleID: c.FederationRuleID, OrganizationID: c.OrganizationID,
		ServiceAccountID: c.ServiceAccountID, WorkspaceID: c.WorkspaceID, Audience: c.Audience, TokenURL: c.TokenURL}
}

// OpenAI returns c's settings for the openai provider.
func (c *Credential) OpenAI() settings.OpenAI {
	return settings.OpenAI{IdentityProviderID: c.IdentityProviderID, ServiceAccountID: c.ServiceAccountID,
		Audience: c.Audience, TokenURL: c.TokenURL}
}

// AWS returns c's settings for the aws provider.
func (c *Credential) AWS() settings.AWS {
	return settings.AWS{RoleARN: c.RoleARN, Region: c.Region, SessionName: c.SessionName,
		Audience: c.Audience, TokenURL: c.TokenURL, Duration: c.Duration}
}

// GCP returns c's settings for the gcp provider.
func (c *Credential) GCP() settings.GCP {
	return settings.GCP{WorkloadIdentityProvider: c.WorkloadIdentityProvider, ServiceAccount: c.ServiceAccount,
		Audience: c.Audience, Scope: c.Scope, TokenURL: c.TokenURL, ImpersonationURL: c.ImpersonationURL, Lifetime: c.Lifetime}
}

// Azure returns c's settings for the azure provider.
func (c *Credential) Azure() settings.Azure {
	return settings.Azure{TenantID: c.TenantID, ClientID: c.ClientID, Cloud: c.Cloud,
		Audience: c.Audience, Scope: c.Scope, TokenURL: c.TokenURL}
}

// Static returns c's settings for the static provider.
func (c *Credential) Static() settings.Static {
	return settings.Static{Header: c.Header, ValueFile: c.ValueFile, ValueEnv: c.ValueEnv}
}

// settingsOf returns c's provider settings, or nil for an unknown provider.
func settingsOf(c *Credential) settings.Settings {
	switch c.Provider {
	case "anthropic":
		return c.Anthropic()
	case "openai":
		return c.OpenAI()
	case "aws":
		return c.AWS()
	case "gcp":
		return c.GCP()
	case "azure":
		return c.Azure()
	case "static":
		return c.Static()
	}
	return nil
}

// applyProviderDefaults fills what c's provider implies and c left out.
func applyProviderDefaults(c *Credential) {
	switch c.Provider {
	case "anthropic":
		s := c.Anthropic().WithDefaults()
		c.Audience, c.TokenURL = s.Audience, s.TokenURL
	case "openai":
		s := c.OpenAI().WithDefaults()
		c.Audience, c.TokenURL = s.Audience, s.TokenURL
	case "aws":
		s := c.AWS().WithDefaults()
		c.Audience, c.TokenURL, c.SessionName, c.Duration = s.Audience, s.TokenURL, s.SessionName, s.Duration
	case "gcp":
		s := c.GCP().WithDefaults()
		c.Audience, c.Scope, c.TokenURL, c.ImpersonationURL, c.Lifetime = s.Audience, s.Scope, s.TokenURL, s.ImpersonationURL, s.Lifetime
	case "azure":
		s := c.Azure().WithDefaults()
		c.Cloud, c.Audience, c.Scope, c.TokenURL = s.Cloud, s.Audience, s.Scope, s.TokenURL
	}
}
