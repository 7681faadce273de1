package access

import (
	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

// EventFilter returns what a GET /v1/events subscriber sees: nil (every
// event) for an admin; for anyone else the events of the leases its uid
// holds and of the credentials it may lease. Identity and reload events
// are for admins only. The filter runs for every event and takes no lock.
func (p *Policy) EventFilter(c peer.Cred) func(api.Event) bool {
	if p.IsAdmin(c) {
		return nil
	}
	return func(ev api.Event) bool { return p.seesEvent(c, ev) }
}

// MaySeeEvent reports whether c sees ev.
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
