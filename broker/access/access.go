// Package access answers every "may this caller …" question of the broker
// (DESIGN §5, Authorization and Where policy lives): who is an admin, who
// may lease, use, see, renew or revoke what, which events a subscriber sees,
// who may register an identity and with which request URL, and how much
// of the socket one uid may hold. Every answer is a pure function of the
// caller's credentials (SO_PEERCRED uid, gid, pid, start time) and one
// immutable Policy built from the config; the routes, the event filter,
// identity registration and reload all ask it, and nothing else decides.
//
// A refusal is an *api.Problem with its status and stable code, ready for
// the server's one error writer; nil means allowed.
package access

import (
	"slices"

	"github.com/awf-broker/awf-broker/broker/peer"
)

// Allow lists uids and gids; a caller is in it when its uid or its
// primary gid is listed.
type Allow struct {
	UIDs, GIDs []uint32
}

// Admits reports whether c's uid or gid is listed.
func (a Allow) Admits(c peer.Cred) bool {
	return slices.Contains(a.UIDs, c.UID) || slices.Contains(a.GIDs, c.GID)
}

// Leasable is what the policy knows of one credential.
type Leasable struct {
	Name string
	// Allow may lease it (admins always may).
	Allow Allow
}

// Identity is what the policy knows of one run-time (github-actions)
// identity.
type Identity struct {
	Name string
	// Allow may register and clear it (admins always may).
	Allow Allow
	// RequestHosts is its allowed_request_hosts: the hosts a request URL
	// registered by a non-admin may name ("*." wildcards allowed).
	RequestHosts []string
}

// Config is the policy's input.
type Config struct {
	// Self is the daemon's own uid, always an admin.
	Self uint32
	// Admin lists the admins besides uid 0 and Self.
	Admin       Allow
	Credentials []Leasable
	Identities  []Identity
	Limits      Limits
}

// Policy is one immutable snapshot of the rules; a reload builds a new one.
type Policy struct {
	self   uint32
	admin  Allow
	creds  map[string]Leasable
	ids    map[string]Identity
	limits Limits
}

// New builds the policy of cfg; zero limits take their defaults.
func New(cfg Config) *Policy {
	p := &Policy{self: cfg.Self, admin: cfg.Admin, creds: map[string]Leasable{}, ids: map[string]Identity{},
		limits: cfg.Limits.withDefaults()}
	for _, c := range cfg.Credentials {
		p.creds[c.Name] = c
	}
	for _, id := range cfg.Identities {
		p.ids[id.Name] = id
	}
	return p
}

// IsAdmin reports whether c is an admin: uid 0, the daemon's own uid, or a
// uid or gid of the admin block.
func (p *Policy) IsAdmin(c peer.Cred) bool {
	return c.UID == 0 || c.UID == p.self || p.admin.Admits(c)
}

// Credential returns what the policy knows of the named credential.
func (p *Policy) Credential(name string) (Leasable, bool) {
	c, ok := p.creds[name]
	return c, ok
}

// Limits returns the quotas.
func (p *Policy) Limits() Limits { return p.limits }
