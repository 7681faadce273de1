// Package config reads the daemon's HCL configuration (DESIGN §3), or
// builds one from the environment variables of the gh-aw api-proxy and the
// Anthropic SDK, validates it, and applies the per-provider defaults. What
// each provider's fields mean, default to and must satisfy is
// provider/settings', shared with the providers; this package maps them
// to the file and points at lines. Every problem is reported at once, each
// naming its file, line and field.
package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Defaults.
const (
	DefaultSocketPath   = "/run/awf-broker/broker.sock"
	DefaultSocketMode   = os.FileMode(0o660)
	DefaultLeaseTTL     = 15 * time.Minute
	MaxLeaseTTL         = 24 * time.Hour
	DefaultWaitForToken = 10 * time.Second
	// DefaultLeaseMaxLifetime is how long a lease may live, renewals
	// included, unless the credential says otherwise.
	DefaultLeaseMaxLifetime = 24 * time.Hour
	// Defaults of the limits block (DESIGN §5).
	DefaultLeasesPerUID      = 256
	DefaultSubscribersPerUID = 16
	DefaultConnectionsPerUID = 1024
)

// Config is a validated configuration with defaults applied.
type Config struct {
	// Source is the file path, or "env".
	Source       string
	Socket       Socket
	Log          Log
	Admin        Admin
	Metrics      Metrics
	Limits       Limits
	WaitForToken time.Duration
	Identities   []Identity
	Credentials  []Credential
	// Notes say, for an env config, where the broker keeps a rule stricter
	// than the gh-aw api-proxy's, or reads a variable differently.
	Notes []string
}

// Socket configures the API socket.
type Socket struct {
	Path  string
	Mode  os.FileMode
	Group string
}

// Log configures logging.
type Log struct {
	Level  string // trace | debug | info | warn | error
	Format string // json | text
}

// Admin lists the callers with every permission, besides uid 0 and the
// daemon's own uid.
type Admin struct {
	UIDs, GIDs []uint32
}

// Metrics configures the optional TCP metrics listener.
type Metrics struct {
	// Listen is host:port; it must be a loopback address unless
	// AllowRemote is set (CheckMetricsListen).
	Listen string
	// AllowRemote lets Listen be reachable from other hosts: /metrics on
	// TCP has no caller check, and it names every credential and its state.
	AllowRemote bool
}

// Limits are the per-uid quotas of the socket, admins included.
type Limits struct {
	LeasesPerUID, SubscribersPerUID, ConnectionsPerUID int
}

// Allow lists who may use something.
type Allow struct {
	UIDs, GIDs []uint32
}

// Identity is a source of subject tokens.
type Identity struct {
	Name string
	Type string // github-actions | file
	// AllowedRequestHosts bounds the hosts a github-actions request URL may name.
	AllowedRequestHosts []string
	// Path is the file of a file identity.
	Path string
	// Allow lists who may register the identity at run time.
	Allow Allow
}

// Credential is one upstream credential. Which fields apply depends on
// Provider; defaults are applied.
type Credential struct {
	Name, Provider, Identity string
	Audience, TokenURL       string
	Hosts                    []string
	// Target is the base URL forwarders send this credential's requests
	// to (https://host[:port][/path]); default the first host's API base
	// (https://host, https://api.openai.com/v1 for OpenAI's) when that
	// host is not a wildcard.
	Target   string
	LeaseTTL time.Duration
	// LeaseMaxLifetime caps a lease's life, renewals included.
	LeaseMaxLifetime time.Duration
	Allow            Allow

	// anthropic (ServiceAccountID also openai)
	FederationRuleID, OrganizationID, ServiceAccountID, WorkspaceID string
	// static
	Header, ValueFile, ValueEnv string
	// Scheme, when set, goes before the static value ("Bearer" → "Bearer KEY").
	Scheme string
	// API names the API a static key is for ("anthropic"), so the
	// broker adds that API's required defaults (anthropic-version).
	API string
	// aws
	RoleARN, Region, SessionName string
	Duration                     time.Duration
	// gcp (Scope also azure)
	WorkloadIdentityProvider, ServiceAccount, ImpersonationURL, Scope string
	Lifetime                                                          time.Duration
	// azure
	TenantID, ClientID, Cloud string
	// openai
	IdentityProviderID string
}

// Credential returns the credential named name.
func (c *Config) Credential(name string) (*Credential, bool) {
	for i := range c.Credentials {
		if c.Credentials[i].Name == name {
			return &c.Credentials[i], true
		}
	}
	return nil, false
}

// Identity returns the identity named name.
func (c *Config) Identity(name string) (*Identity, bool) {
	for i := range c.Identities {
		if c.Identities[i].Name == name {
			return &c.Identities[i], true
		}
	}
	return nil, false
}

// Summary describes the configuration in one line.
func (c *Config) Summary() string {
	byProvider := map[string][]string{}
	for _, cr := range c.Credentials {
		byProvider[cr.Provider] = append(byProvider[cr.Provider], cr.Name)
	}
	providers := make([]string, 0, len(byProvider))
	for p := range byProvider {
		providers = append(providers, p)
	}
	sort.Strings(providers)
	parts := make([]string, 0, len(providers))
	for _, p := range providers {
		parts = append(parts, p+": "+strings.Join(byProvider[p], ", "))
	}
	return fmt.Sprintf("%s: %d %s, %d %s (%s), socket %s", c.Source,
		len(c.Identities), plural(len(c.Identities), "identity", "identities"),
		len(c.Credentials), plural(len(c.Credentials), "credential", "credentials"),
		strings.Join(parts, "; "), c.Socket.Path)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// RestartNeeded names the settings that differ between old and cfg and
// apply only at the next start: the socket, the metrics listener and the
// log format. A reload reports them.
func RestartNeeded(old, cfg *Config) []string {
	var out []string
	if old.Socket != cfg.Socket {
		out = append(out, "socket")
	}
	if old.Metrics != cfg.Metrics {
		out = append(out, "metrics")
	}
	if old.Log.Format != cfg.Log.Format {
		out = append(out, "log.format")
	}
	return out
}
