package access

import (
	"net/http"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// Lease is what the policy needs of a lease.
type Lease struct {
	ID     string
	Holder peer.Cred
	// Bind is api.BindUID or api.BindProcess.
	Bind string
}

// MayManageLease answers GET, renew and DELETE of /v1/leases/{id}: an admin
// always; anyone else only for a lease its uid holds, and for a
// process-bound lease only from the holder process (same pid and start
// time) or with the lease's secret (withSecret: the caller presented it
// and it matched). So a process of the same uid cannot stop another
// process's forwarder by revoking or shortening its lease.
func (p *Policy) MayManageLease(c peer.Cred, l Lease, withSecret bool) error {
	switch {
	case p.IsAdmin(c):
		return nil
	case c.UID != l.Holder.UID:
		return forbidden("lease %s belongs to another uid", l.ID)
	case !withSecret && !holdsProcess(c, l):
		return forbidden("lease %s is bound to another process: manage it from that process or present its secret", l.ID)
	}
	return nil
}

// MayUseLease answers a header request made with l's secret: only the
// holder, admins included, may use a lease. The caller must have the
// holder's uid and, for a process-bound lease, be the holder process (same
// pid and start time), so a recycled pid or a sibling process holding a
// copied secret is refused.
func MayUseLease(c peer.Cred, l Lease) error {
	switch {
	case c.UID != l.Holder.UID:
		return forbidden("lease %s belongs to another uid", l.ID)
	case !holdsProcess(c, l):
		return forbidden("lease %s is bound to another process", l.ID)
	}
	return nil
}

// holdsProcess reports whether c is a process that may act for l: any
// process for a uid-bound lease, only the holder process (pid and start
// time) for a process-bound one.
func holdsProcess(c peer.Cred, l Lease) bool {
	return l.Bind != api.BindProcess || c.SameProcess(l.Holder)
}

// SeesLease reports whether GET /v1/leases lists l to c: admins see every
// lease, others the leases their uid holds (a list shows no secret, and
// holding the uid is what the list is about).
func (p *Policy) SeesLease(c peer.Cred, l Lease) bool {
	return p.IsAdmin(c) || c.UID == l.Holder.UID
}

// MayBindProcess answers a lease request with bind "process": the broker
// must see the caller's process (its pid and start time). Behind another
// pid namespace SO_PEERCRED reports pid 0 (a Kubernetes DaemonSet without
// hostPID), and a pid whose /proc entry cannot be read has no start time;
// either way the lease could not be tied to the process, so it is refused
// with 400 process_not_visible rather than silently bound to the uid.
func MayBindProcess(c peer.Cred) error {
	if !c.HasProcess() {
		return refuse(http.StatusBadRequest, api.CodeProcessNotVisible,
			"bind %q needs a caller whose process the broker can see (pid %d is not visible in the broker's pid namespace); ask for bind %q",
			api.BindProcess, c.PID, api.BindUID)
	}
	return nil
}
