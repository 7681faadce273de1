package access

import (
	"errors"
	"fmt"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// The callers of the table. The daemon runs as uid 999; admin { uids =
// [500] gids = [50] }; credential "anthropic" allows uid 1001, "aws" gid
// 1001; identity "github" allows uid 1001 and lists
// *.actions.githubusercontent.com, identity "dev" also lists 127.0.0.1.
var (
	root      = peer.Cred{UID: 0, GID: 0, PID: 1, StartTime: 1}
	daemon    = peer.Cred{UID: 999, GID: 999, PID: 2, StartTime: 2}
	adminUID  = peer.Cred{UID: 500, GID: 500, PID: 3, StartTime: 3}
	adminGID  = peer.Cred{UID: 600, GID: 50, PID: 4, StartTime: 4}
	alice     = peer.Cred{UID: 1001, GID: 1001, PID: 100, StartTime: 7}
	aliceSib  = peer.Cred{UID: 1001, GID: 1001, PID: 101, StartTime: 8} // another process of alice's uid
	aliceRecy = peer.Cred{UID: 1001, GID: 1001, PID: 100, StartTime: 9} // alice's pid, recycled
	aliceNS   = peer.Cred{UID: 1001, GID: 1001}                         // alice behind another pid namespace
	bobGroup  = peer.Cred{UID: 1002, GID: 1001, PID: 200, StartTime: 7} // in gid 1001 only
	mallory   = peer.Cred{UID: 1003, GID: 1003, PID: 300, StartTime: 7}
)

func policy() *Policy {
	return New(Config{
		Self:  999,
		Admin: Allow{UIDs: []uint32{500}, GIDs: []uint32{50}},
		Credentials: []Leasable{
			{Name: "anthropic", Allow: Allow{UIDs: []uint32{1001}}},
			{Name: "aws", Allow: Allow{GIDs: []uint32{1001}}},
		},
		Identities: []Identity{
			{Name: "github", Allow: Allow{UIDs: []uint32{1001}}, RequestHosts: []string{"*.actions.githubusercontent.com"}},
			{Name: "dev", Allow: Allow{UIDs: []uint32{1001}}, RequestHosts: []string{"127.0.0.1"}},
		},
		Limits: Limits{LeasesPerUID: 2, SubscribersPerUID: 1, ConnectionsPerUID: 3},
	})
}

// The leases the table asks about: both held by alice's process.
var (
	uidLease  = Lease{ID: "L-uid", Holder: alice, Bind: api.BindUID}
	procLease = Lease{ID: "L-proc", Holder: alice, Bind: api.BindProcess}
)

// action is one question asked of the policy.
type action struct {
	name string
	ask  func(p *Policy, c peer.Cred) error
}

// yes turns a yes/no answer into the table's words.
func yes(ok bool) error {
	if ok {
		return nil
	}
	return errHidden
}

var errHidden = errors.New("hidden")

var (
	leaseAnthropic = action{"lease anthropic", func(p *Policy, c peer.Cred) error { return p.MayLease(c, "anthropic") }}
	leaseAWS       = action{"lease aws", func(p *Policy, c peer.Cred) error { return p.MayLease(c, "aws") }}
	leaseNone      = action{"lease nosuch", func(p *Policy, c peer.Cred) error { return p.MayLease(c, "nosuch") }}
	seeAnthropic   = action{"see anthropic", func(p *Policy, c peer.Cred) error { return p.SeeCredential(c, "anthropic") }}
	refresh        = action{"refresh / metrics", func(p *Policy, c peer.Cred) error { return p.MayAdminister(c) }}
	manageUID      = action{"read/renew/revoke alice's uid lease", func(p *Policy, c peer.Cred) error { return p.MayManageLease(c, uidLease, false) }}
	manageProc     = action{"read/renew/revoke alice's process lease", func(p *Policy, c peer.Cred) error { return p.MayManageLease(c, procLease, false) }}
	manageProcSec  = action{"… with its secret", func(p *Policy, c peer.Cred) error { return p.MayManageLease(c, procLease, true) }}
	useUID         = action{"send a header request with alice's uid lease", func(_ *Policy, c peer.Cred) error { return MayUseLease(c, uidLease) }}
	useProc        = action{"send a header request with alice's process lease", func(_ *Policy, c peer.Cred) error { return MayUseLease(c, procLease) }}
	listProc       = action{"list alice's process lease", func(p *Policy, c peer.Cred) error { return yes(p.SeesLease(c, procLease)) }}
	bindProcess    = action{"bind process", func(_ *Policy, c peer.Cred) error { return MayBindProcess(c) }}
	evLease        = action{"event of alice's lease", func(p *Policy, c peer.Cred) error {
		return yes(p.MaySeeEvent(c, api.Event{Type: api.EventLeaseRenewed, Credential: "anthropic", Lease: "L-uid", Holder: &api.Holder{UID: 1001}}))
	}}
	evCred = action{"event of anthropic", func(p *Policy, c peer.Cred) error {
		return yes(p.MaySeeEvent(c, api.Event{Type: api.EventCredentialState, Credential: "anthropic"}))
	}}
	evReload = action{"reload event", func(p *Policy, c peer.Cred) error { return yes(p.MaySeeEvent(c, api.Event{Type: api.EventReload})) }}
	evIdent  = action{"identity event", func(p *Policy, c peer.Cred) error {
		return yes(p.MaySeeEvent(c, api.Event{Type: api.EventIdentityRegistered, Identity: "github"}))
	}}
	readyAnthropic = action{"ready details anthropic", func(p *Policy, c peer.Cred) error { return yes(p.ReadinessOf(c, true)("anthropic")) }}
	regGitHub      = action{"register github → GitHub host", func(p *Policy, c peer.Cred) error {
		return p.MayRegisterIdentity(c, "github", "https://pipelines.actions.githubusercontent.com/x/idtoken?api-version=2.0")
	}}
	regEvil = action{"register github → other host", func(p *Policy, c peer.Cred) error {
		return p.MayRegisterIdentity(c, "github", "https://evil.example.com/token")
	}}
	regLoop = action{"register github → loopback", func(p *Policy, c peer.Cred) error {
		return p.MayRegisterIdentity(c, "github", "http://127.0.0.1:9090/token")
	}}
	regDevLoop = action{"register dev → listed loopback", func(p *Policy, c peer.Cred) error {
		return p.MayRegisterIdentity(c, "dev", "http://127.0.0.1:9090/token")
	}}
	regNone = action{"register nosuch", func(p *Policy, c peer.Cred) error {
		return p.MayRegisterIdentity(c, "nosuch", "https://x.actions.githubusercontent.com/")
	}}
	clearGH   = action{"clear github", func(p *Policy, c peer.Cred) error { return p.MayClearIdentity(c, "github") }}
	lease3rd  = action{"3rd lease (2 held, limit 2)", func(p *Policy, c peer.Cred) error { return p.MayAddLease(c, 2) }}
	lease2nd  = action{"2nd lease (1 held)", func(p *Policy, c peer.Cred) error { return p.MayAddLease(c, 1) }}
	sub2nd    = action{"2nd subscriber (limit 1)", func(p *Policy, c peer.Cred) error { return p.MayAddSubscriber(c, 1) }}
	conn4th   = action{"4th connection (limit 3)", func(p *Policy, c peer.Cred) error { return p.MayAddConnection(c, 3) }}
	conn3rd   = action{"3rd connection", func(p *Policy, c peer.Cred) error { return p.MayAddConnection(c, 2) }}
	isAdminQ  = action{"is admin", func(p *Policy, c peer.Cred) error { return yes(p.IsAdmin(c)) }}
	readyNone = action{"ready details, unidentified", func(p *Policy, c peer.Cred) error { return yes(p.ReadinessOf(c, false)("anthropic")) }}
)

// TestPolicy is THE authorization table: every caller × action the broker
// decides, and the answer: "allow", "hidden" (left out of a list or a
// stream), or the refusal's status and code.
func TestPolicy(t *testing.T) {
	rows := []struct {
		caller string
		c      peer.Cred
		act    action
		want   string
	}{
		// Who is an admin.
		{"root", root, isAdminQ, "allow"},
		{"daemon's uid", daemon, isAdminQ, "allow"},
		{"admin by uid", adminUID, isAdminQ, "allow"},
		{"admin by gid", adminGID, isAdminQ, "allow"},
		{"alice", alice, isAdminQ, "hidden"},

		// Lease creation: the credential's allow, or admin.
		{"alice (allowed uid)", alice, leaseAnthropic, "allow"},
		{"alice (allowed gid)", alice, leaseAWS, "allow"},
		{"bob (gid only)", bobGroup, leaseAWS, "allow"},
		{"bob (gid only)", bobGroup, leaseAnthropic, "403 forbidden"},
		{"mallory", mallory, leaseAnthropic, "403 forbidden"},
		{"admin by gid", adminGID, leaseAnthropic, "allow"},
		{"mallory", mallory, leaseNone, "404 unknown_credential"},
		{"root", root, leaseNone, "404 unknown_credential"},

		// Seeing a credential: exactly who may lease it; others get 404.
		{"alice", alice, seeAnthropic, "allow"},
		{"mallory", mallory, seeAnthropic, "404 unknown_credential"},
		{"admin by uid", adminUID, seeAnthropic, "allow"},

		// Readiness details: admins all, others what they may lease, the
		// unidentified none.
		{"alice", alice, readyAnthropic, "allow"},
		{"mallory", mallory, readyAnthropic, "hidden"},
		{"root", root, readyAnthropic, "allow"},
		{"unidentified", peer.Cred{}, readyNone, "hidden"},

		// Admin-only routes.
		{"root", root, refresh, "allow"},
		{"admin by gid", adminGID, refresh, "allow"},
		{"alice", alice, refresh, "403 forbidden"},

		// Lease management: admin, or the holder's uid; for a process
		// lease the holder process or its secret.
		{"alice", alice, manageUID, "allow"},
		{"alice's other process", aliceSib, manageUID, "allow"},
		{"mallory", mallory, manageUID, "403 forbidden"},
		{"mallory with the secret", mallory, action{"… with its secret", func(p *Policy, c peer.Cred) error { return p.MayManageLease(c, procLease, true) }}, "403 forbidden"},
		{"alice (holder process)", alice, manageProc, "allow"},
		{"alice's other process", aliceSib, manageProc, "403 forbidden"},
		{"alice's recycled pid", aliceRecy, manageProc, "403 forbidden"},
		{"alice behind a pid namespace", aliceNS, manageProc, "403 forbidden"},
		{"alice's other process", aliceSib, manageProcSec, "allow"},
		{"root", root, manageProc, "allow"},
		{"alice's other process", aliceSib, listProc, "allow"},
		{"mallory", mallory, listProc, "hidden"},

		// Using a lease (its secret in a header request): the holder only,
		// admins too; for a process lease only the holder process.
		{"alice", alice, useUID, "allow"},
		{"alice's other process", aliceSib, useUID, "allow"},
		{"mallory", mallory, useUID, "403 forbidden"},
		{"root", root, useUID, "403 forbidden"},
		{"alice (holder process)", alice, useProc, "allow"},
		{"alice's other process", aliceSib, useProc, "403 forbidden"},
		{"alice's recycled pid", aliceRecy, useProc, "403 forbidden"},
		{"alice behind a pid namespace", aliceNS, useProc, "403 forbidden"},
		{"root", root, useProc, "403 forbidden"},

		// Binding a lease to the process needs a visible process.
		{"alice", alice, bindProcess, "allow"},
		{"alice behind a pid namespace", aliceNS, bindProcess, "400 process_not_visible"},
		{"root behind a pid namespace", peer.Cred{UID: 0}, bindProcess, "400 process_not_visible"},

		// Events.
		{"alice", alice, evLease, "allow"},
		{"bob (may lease aws, not this lease)", bobGroup, evLease, "hidden"},
		{"alice", alice, evCred, "allow"},
		{"mallory", mallory, evCred, "hidden"},
		{"alice", alice, evReload, "hidden"},
		{"alice", alice, evIdent, "hidden"},
		{"admin by uid", adminUID, evReload, "allow"},
		{"admin by uid", adminUID, evIdent, "allow"},

		// Identity registration.
		{"alice", alice, regGitHub, "allow"},
		{"alice", alice, regEvil, "403 forbidden"},
		{"alice", alice, regLoop, "403 forbidden"},
		{"alice", alice, regDevLoop, "allow"},
		{"mallory", mallory, regGitHub, "403 forbidden"},
		{"mallory", mallory, clearGH, "403 forbidden"},
		{"alice", alice, clearGH, "allow"},
		{"root", root, regLoop, "allow"},
		{"root", root, regNone, "404 unknown_identity"},

		// Quotas apply to admins too.
		{"alice", alice, lease2nd, "allow"},
		{"alice", alice, lease3rd, "429 quota_exceeded"},
		{"root", root, lease3rd, "429 quota_exceeded"},
		{"alice", alice, sub2nd, "429 quota_exceeded"},
		{"alice", alice, conn3rd, "allow"},
		{"root", root, conn4th, "429 quota_exceeded"},
	}
	p := policy()
	for _, r := range rows {
		t.Run(r.caller+"/"+r.act.name, func(t *testing.T) {
			if got := answer(r.act.ask(p, r.c)); got != r.want {
				t.Errorf("%s: %s = %s, want %s", r.caller, r.act.name, got, r.want)
			}
		})
	}
}

func answer(err error) string {
	var p *api.Problem
	switch {
	case err == nil:
		return "allow"
	case errors.Is(err, errHidden):
		return "hidden"
	case errors.As(err, &p):
		if p.Detail == "" {
			return fmt.Sprintf("%d %s (no detail)", p.Status, p.Code)
		}
		return fmt.Sprintf("%d %s", p.Status, p.Code)
	}
	return "error " + err.Error()
}

// TestQuotaDetail pins the words of a quota refusal: which limit, its
// value, and nothing secret.
func TestQuotaDetail(t *testing.T) {
	err := policy().MayAddLease(alice, 2)
	var p *api.Problem
	if !errors.As(err, &p) {
		t.Fatalf("MayAddLease = %v, want a problem", err)
	}
	const want = "uid 1001 already has 2 leases (limits.leases_per_uid = 2)"
	if p.Detail != want || p.RetryAfter != 1 {
		t.Errorf("detail %q retry %d, want %q retry 1", p.Detail, p.RetryAfter, want)
	}
}

// TestDefaultLimits pins DESIGN §5's defaults.
func TestDefaultLimits(t *testing.T) {
	got := New(Config{}).Limits()
	want := Limits{LeasesPerUID: 256, SubscribersPerUID: 16, ConnectionsPerUID: 1024}
	if got != want {
		t.Errorf("default limits %+v, want %+v", got, want)
	}
}
