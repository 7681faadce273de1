package daemon

import (
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/config"
)

// policyOf is the access policy of cfg for a daemon running as self.
func policyOf(cfg *config.Config, self uint32) *access.Policy {
	pc := access.Config{
		Self:  self,
		Admin: access.Allow(cfg.Admin),
		Limits: access.Limits{LeasesPerUID: cfg.Limits.LeasesPerUID, SubscribersPerUID: cfg.Limits.SubscribersPerUID,
			ConnectionsPerUID: cfg.Limits.ConnectionsPerUID},
	}
	for _, c := range cfg.Credentials {
		pc.Credentials = append(pc.Credentials, access.Leasable{Name: c.Name, Allow: access.Allow(c.Allow)})
	}
	for _, id := range cfg.Identities {
		if id.Type == "github-actions" { // the only kind registered at run time
			pc.Identities = append(pc.Identities, access.Identity{Name: id.Name, Allow: access.Allow(id.Allow),
				RequestHosts: id.AllowedRequestHosts})
		}
	}
	return access.New(pc)
}
