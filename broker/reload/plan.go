// Package reload decides what a config reload does, as one pure function
// (DESIGN §5, Where policy lives): given the credentials before and after
// and every active lease, Plan says which credentials to start, stop and
// keep, and which leases to revoke or shorten so that nothing granted
// under the old config outlives it. The daemon carries the plan out.
package reload

import (
	"sort"
	"time"

	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Spec is what the plan compares of one built credential.
type Spec struct {
	Name string
	// Fingerprint stands for everything the credential is built from (its
	// config, the contents of its key file, its identity): equal
	// fingerprints mean the running credential can be kept as it is.
	Fingerprint string
	// Binding names the identity registration its tokens are bound to
	// ("" for none): when it changes, a job's tokens and leases end.
	Binding string
	// Shape is what a lease's headers depend on (provider, body hash):
	// a lease made for one shape is not valid for another.
	Shape string
	// Hosts is its scope ceiling.
	Hosts []string
	// LeaseTTL and LeaseMaxLifetime bound its leases.
	LeaseTTL, LeaseMaxLifetime time.Duration
}

// State is one config as the plan sees it.
type State struct {
	Credentials []Spec
	// Policy answers who may lease what.
	Policy *access.Policy
}

// Lease is one active lease.
type Lease struct {
	ID, Credential       string
	Holder               peer.Cred
	Hosts                []string
	CreatedAt, ExpiresAt time.Time
}

// Revocation is a lease to revoke, and why.
type Revocation struct {
	Lease, Credential, Why string
}

// Shortening is a lease to end sooner, when, and why.
type Shortening struct {
	Lease, Credential string
	Until             time.Time
	Why               string
}

// Result is what a reload does. Names are sorted; a changed credential is
// in both Stop (its old build) and Start (its new one).
type Result struct {
	Start, Stop, Keep []string
	// Added, Removed and Changed sort the credentials for the report.
	Added, Removed, Changed []string
	Revoke                  []Revocation
	Shorten                 []Shortening
}

// Why a lease is revoked or shortened.
const (
	WhyRemoved     = "its credential was removed"
	WhyRebound     = "its credential's identity changed"
	WhyShape       = "its credential's provider or signing changed"
	WhyNotAllowed  = "its holder may no longer lease the credential"
	WhyOutside     = "its hosts are outside the credential's new hosts"
	WhyTTL         = "the credential's lease_ttl was lowered"
	WhyMaxLifetime = "the credential's lease_max_lifetime was lowered"
)

// Plan compares the old state and the new one and re-checks every lease
// against the new: its
// holder still allowed (or admin), its hosts inside the new hosts, its
// remaining time within the new lease_ttl and lease_max_lifetime. A lease
// that no longer fits is revoked, or shortened when only its time is too
// long. now is the time of the reload (the store's clock).
func Plan(oldState, newState State, leases []Lease, now time.Time) Result {
	var r Result
	before := byName(oldState.Credentials)
	after := byName(newState.Credentials)
	for name, n := range after {
		o, ok := before[name]
		switch {
		case !ok:
			r.Added = append(r.Added, name)
			r.Start = append(r.Start, name)
		case o.Fingerprint != n.Fingerprint:
			r.Changed = append(r.Changed, name)
			r.Start = append(r.Start, name)
			r.Stop = append(r.Stop, name)
		default:
			r.Keep = append(r.Keep, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			r.Removed = append(r.Removed, name)
			r.Stop = append(r.Stop, name)
		}
	}
	for _, s := range [][]string{r.Start, r.Stop, r.Keep, r.Added, r.Removed, r.Changed} {
		sort.Strings(s)
	}
	for _, l := range leases {
		o := before[l.Credential]
		n, ok := after[l.Credential]
		revoke := func(why string) {
			r.Revoke = append(r.Revoke, Revocation{Lease: l.ID, Credential: l.Credential, Why: why})
		}
		switch {
		case !ok:
			revoke(WhyRemoved)
		case o.Binding != n.Binding:
			revoke(WhyRebound)
		case o.Shape != n.Shape:
			revoke(WhyShape)
		case newState.Policy.MayLease(l.Holder, l.Credential) != nil:
			revoke(WhyNotAllowed)
		case lease.Subset(l.Hosts, n.Hosts) != nil:
			revoke(WhyOutside)
		default:
			if s, ok := shorten(l, n, now); ok {
				r.Shorten = append(r.Shorten, s)
			}
		}
	}
	return r
}

// shorten returns when l must end under n's lease_ttl (counted from now)
// and lease_max_lifetime (from its creation), if sooner than it would.
func shorten(l Lease, n Spec, now time.Time) (Shortening, bool) {
	until, why := l.ExpiresAt, ""
	if n.LeaseTTL > 0 {
		if t := now.Add(n.LeaseTTL); t.Before(until) {
			until, why = t, WhyTTL
		}
	}
	if n.LeaseMaxLifetime > 0 {
		if t := l.CreatedAt.Add(n.LeaseMaxLifetime); t.Before(until) {
			until, why = t, WhyMaxLifetime
		}
	}
	if why == "" {
		return Shortening{}, false
	}
	return Shortening{Lease: l.ID, Credential: l.Credential, Until: until, Why: why}, true
}

func byName(cs []Spec) map[string]Spec {
	m := make(map[string]Spec, len(cs))
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}
