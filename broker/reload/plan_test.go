package reload

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/peer"
)

var (
	t0    = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now   = t0.Add(time.Hour) // the reload
	alice = peer.Cred{UID: 1001, GID: 1001, PID: 10, StartTime: 1}
	bob   = peer.Cred{UID: 1002, GID: 1002, PID: 11, StartTime: 1}
	admin = peer.Cred{UID: 500, GID: 500, PID: 12, StartTime: 1}
)

// anthropic is the credential every row starts from: alice may lease it,
// uid 500 is an admin.
func anthropic() Spec {
	return Spec{Name: "anthropic", Fingerprint: "fp1", Binding: "github#1", Shape: "anthropic",
		Hosts: []string{"api.anthropic.com", "*.example.com"}, LeaseTTL: 15 * time.Minute, LeaseMaxLifetime: 24 * time.Hour}
}

func state(adminUIDs []uint32, allow []uint32, creds ...Spec) State {
	var rules []access.Leasable
	for _, c := range creds {
		rules = append(rules, access.Leasable{Name: c.Name, Allow: access.Allow{UIDs: allow}})
	}
	return State{Credentials: creds, Policy: access.New(access.Config{Self: 999, Admin: access.Allow{UIDs: adminUIDs}, Credentials: rules})}
}

// leaseOf is a lease made 30 minutes before the reload, ending 10
// minutes after it.
func leaseOf(id string, holder peer.Cred, hosts ...string) Lease {
	return Lease{ID: id, Credential: "anthropic", Holder: holder, Hosts: hosts, CreatedAt: now.Add(-30 * time.Minute), ExpiresAt: now.Add(10 * time.Minute)}
}

// TestPlan: what a reload does, case by case.
func TestPlan(t *testing.T) {
	admins := []uint32{500}
	allowAlice := []uint32{1001}
	aliceLease := leaseOf("L1", alice, "api.anthropic.com")
	rows := []struct {
		name     string
		old, new State
		leases   []Lease
		want     string
	}{
		{"unchanged: kept, leases untouched",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, anthropic()), []Lease{aliceLease},
			"keep=anthropic"},
		{"added: started",
			state(admins, allowAlice), state(admins, allowAlice, anthropic()), nil,
			"start=anthropic added=anthropic"},
		{"removed: stopped, its leases revoked",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice), []Lease{aliceLease},
			"stop=anthropic removed=anthropic revoke=L1(its credential was removed)"},
		{"changed (new fingerprint): rebuilt, a lease that still fits stays",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2" })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic"},
		{"value file changed: its fingerprint differs, so it is a changed credential",
			state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "file:sha256-aaa" })),
			state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "file:sha256-bbb" })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic"},
		{"narrowed allow: the dropped holder's lease is revoked, unchanged credential or not",
			state(admins, []uint32{1001, 1002}, anthropic()), state(admins, allowAlice, anthropic()),
			[]Lease{aliceLease, leaseOf("L2", bob, "api.anthropic.com")},
			"keep=anthropic revoke=L2(its holder may no longer lease the credential)"},
		{"widened allow: nothing ends",
			state(admins, allowAlice, anthropic()), state(admins, []uint32{1001, 1002}, anthropic()),
			[]Lease{aliceLease},
			"keep=anthropic"},
		{"admin dropped: its lease on a credential it was never allowed is revoked",
			state(admins, allowAlice, anthropic()), state(nil, allowAlice, anthropic()),
			[]Lease{aliceLease, leaseOf("L3", admin, "api.anthropic.com")},
			"keep=anthropic revoke=L3(its holder may no longer lease the credential)"},
		{"admin kept: its lease stays",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, anthropic()),
			[]Lease{leaseOf("L3", admin, "api.anthropic.com")},
			"keep=anthropic"},
		{"lease_ttl lowered: a lease ending later than now+ttl is shortened",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.LeaseTTL = 5 * time.Minute })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic shorten=L1(+5m0s: the credential's lease_ttl was lowered)"},
		{"lease_ttl lowered but the lease ends sooner anyway",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.LeaseTTL = 12 * time.Minute })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic"},
		{"lease_max_lifetime lowered below the lease's age+rest: shortened to created+max",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.LeaseMaxLifetime = 35 * time.Minute })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic shorten=L1(+5m0s: the credential's lease_max_lifetime was lowered)"},
		{"hosts narrowed: a lease outside the new hosts is revoked, one inside stays",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.Hosts = []string{"api.anthropic.com"} })),
			[]Lease{aliceLease, leaseOf("L4", alice, "a.example.com")},
			"start=anthropic stop=anthropic changed=anthropic revoke=L4(its hosts are outside the credential's new hosts)"},
		{"hosts widened: nothing ends",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.Hosts = []string{"*.anthropic.com", "*.example.com"} })),
			[]Lease{aliceLease, leaseOf("L4", alice, "a.example.com")},
			"start=anthropic stop=anthropic changed=anthropic"},
		{"identity changed: the binding ends, every lease is revoked",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.Binding = "github#2" })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic revoke=L1(its credential's identity changed)"},
		{"provider changed: the lease's headers no longer apply",
			state(admins, allowAlice, anthropic()), state(admins, allowAlice, with(anthropic(), func(c *Spec) { c.Fingerprint = "fp2"; c.Shape = "static" })),
			[]Lease{aliceLease},
			"start=anthropic stop=anthropic changed=anthropic revoke=L1(its credential's provider or signing changed)"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got := describe(Plan(r.old, r.new, r.leases, now)); got != r.want {
				t.Errorf("\n got %s\nwant %s", got, r.want)
			}
		})
	}
}

func with(c Spec, f func(*Spec)) Spec { f(&c); return c }

// describe writes a plan in the table's words; shortenings as the time
// after the reload.
func describe(r Result) string {
	var parts []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			parts = append(parts, k+"="+strings.Join(v, ","))
		}
	}
	add("start", r.Start)
	add("stop", r.Stop)
	add("keep", r.Keep)
	add("added", r.Added)
	add("removed", r.Removed)
	add("changed", r.Changed)
	var rv, sh []string
	for _, x := range r.Revoke {
		rv = append(rv, fmt.Sprintf("%s(%s)", x.Lease, x.Why))
	}
	for _, x := range r.Shorten {
		sh = append(sh, fmt.Sprintf("%s(+%s: %s)", x.Lease, x.Until.Sub(now), x.Why))
	}
	add("revoke", rv)
	add("shorten", sh)
	return strings.Join(parts, " ")
}
