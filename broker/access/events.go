package access

import (
	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// MaySeeEvent reports whether c sees ev on GET /v1/events: an admin sees
// every event; anyone else the events of the leases its uid holds and of
// the credentials it may lease. Identity and reload events are for admins
// only. The event filter asks it for every event, so it takes no lock.
func (p *Policy) MaySeeEvent(c peer.Cred, ev api.Event) bool {
	return p.IsAdmin(c) || p.seesEvent(c, ev)
}

func (p *Policy) seesEvent(c peer.Cred, ev api.Event) bool {
	switch {
	case ev.Lease != "":
		return ev.Holder != nil && ev.Holder.UID == c.UID
	case ev.Credential != "":
		return p.MaySee(c, ev.Credential)
	}
	return false
}
