package config

import "time"

// The file's field tables: each credential and limits attribute is named
// once here, and the schema, build, Write and defaults all range over
// them, so an attribute cannot be accepted by one and dropped by another.

// stringFields maps a credential attribute to its field.
var stringFields = map[string]func(*Credential) *string{
	"provider": func(c *Credential) *string { return &c.Provider }, "identity": func(c *Credential) *string { return &c.Identity },
	"audience": func(c *Credential) *string { return &c.Audience }, "token_url": func(c *Credential) *string { return &c.TokenURL },
	"federation_rule_id": func(c *Credential) *string { return &c.FederationRuleID }, "organization_id": func(c *Credential) *string { return &c.OrganizationID },
	"service_account_id": func(c *Credential) *string { return &c.ServiceAccountID }, "workspace_id": func(c *Credential) *string { return &c.WorkspaceID },
	"header": func(c *Credential) *string { return &c.Header }, "value_file": func(c *Credential) *string { return &c.ValueFile },
	"value_env": func(c *Credential) *string { return &c.ValueEnv }, "role_arn": func(c *Credential) *string { return &c.RoleARN },
	"region": func(c *Credential) *string { return &c.Region }, "session_name": func(c *Credential) *string { return &c.SessionName },
	"workload_identity_provider": func(c *Credential) *string { return &c.WorkloadIdentityProvider },
	"service_account":            func(c *Credential) *string { return &c.ServiceAccount },
	"impersonation_url":          func(c *Credential) *string { return &c.ImpersonationURL },
	"scope":                      func(c *Credential) *string { return &c.Scope },
	"tenant_id":                  func(c *Credential) *string { return &c.TenantID }, "client_id": func(c *Credential) *string { return &c.ClientID },
	"cloud": func(c *Credential) *string { return &c.Cloud }, "identity_provider_id": func(c *Credential) *string { return &c.IdentityProviderID },
	"target": func(c *Credential) *string { return &c.Target }, "api": func(c *Credential) *string { return &c.API },
	"scheme": func(c *Credential) *string { return &c.Scheme },
}

// durationFields maps a credential's duration attribute to its field.
var durationFields = map[string]func(*Credential) *time.Duration{
	"lease_ttl":          func(c *Credential) *time.Duration { return &c.LeaseTTL },
	"lease_max_lifetime": func(c *Credential) *time.Duration { return &c.LeaseMaxLifetime },
	"duration":           func(c *Credential) *time.Duration { return &c.Duration },
	"lifetime":           func(c *Credential) *time.Duration { return &c.Lifetime },
}

// credentialAttrs is the credential block's attributes: the field tables'
// and hosts (a list, read and written apart).
func credentialAttrs() map[string]kind {
	attrs := map[string]kind{"hosts": kStrings}
	for name := range stringFields {
		attrs[name] = kString
	}
	for name := range durationFields {
		attrs[name] = kString // a duration is written as a string, "15m"
	}
	return attrs
}

// limitFields are the limits block's attributes, their fields and defaults
// (DESIGN §5), in the order Write writes them.
var limitFields = []struct {
	name  string
	field func(*Limits) *int
	def   int
}{
	{"leases_per_uid", func(l *Limits) *int { return &l.LeasesPerUID }, DefaultLeasesPerUID},
	{"subscribers_per_uid", func(l *Limits) *int { return &l.SubscribersPerUID }, DefaultSubscribersPerUID},
	{"connections_per_uid", func(l *Limits) *int { return &l.ConnectionsPerUID }, DefaultConnectionsPerUID},
}

// limitAttrs is the limits block's attributes.
func limitAttrs() map[string]kind {
	attrs := map[string]kind{}
	for _, f := range limitFields {
		attrs[f.name] = kCount
	}
	return attrs
}
