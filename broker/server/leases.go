package server

import (
	"fmt"
	"net/http"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// LeaseGate is implemented by credentials that refuse new leases for a
// while (a run-time identity with no job registered); its error is the
// answer.
type LeaseGate interface {
	LeaseGate() error
}

// serveCreateLease makes a lease on the credential the request names for
// the caller (CanLease); the secret is in this answer only. Whether the
// caller may lease it is decided inside LeaseChange, so that the lease is
// made under the config it was allowed by.
func (s *Server) serveCreateLease(c *call) error {
	holder := lease.Holder{Cred: c.caller, Container: s.cfg.ContainerID(c.caller.PID)}
	var sec secret.Value
	err := s.cfg.Credentials.LeaseChange(func() error {
		c.pol = s.cfg.Policy()
		name := c.create.Credential
		if err := c.pol.MayLease(c.caller, name); err != nil {
			return err
		}
		cr, ok := s.cfg.Credentials.Get(name)
		if !ok {
			return problem(http.StatusNotFound, api.CodeUnknownCredential, "no credential %q", name)
		}
		c.cred = cr
		if g, ok := cr.(LeaseGate); ok {
			if err := g.LeaseGate(); err != nil {
				return err
			}
		}
		var err error
		c.lease, sec, err = s.cfg.Leases.Create(leaseInfo(cr.Info()), c.create, holder)
		return err
	})
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusCreated, api.CreatedLease{Lease: c.lease.API(), Secret: sec.Reveal()})
}

// serveLeases lists every lease for an admin, the caller's own otherwise.
func (s *Server) serveLeases(c *call) error {
	var keep func(*lease.Lease) bool
	if !c.pol.IsAdmin(c.caller) {
		keep = func(l *lease.Lease) bool { return c.pol.SeesLease(c.caller, l.Facts()) }
	}
	return s.writeJSON(c, http.StatusOK, api.LeaseList{Leases: s.cfg.Leases.List(keep)})
}

func (s *Server) serveLease(c *call) error {
	return s.writeJSON(c, http.StatusOK, c.lease.API())
}

func (s *Server) serveRenew(c *call) error {
	var req api.RenewLeaseRequest
	if err := s.decode(c, &req, true); err != nil {
		return err
	}
	// The credential as it is now bounds the renewal (a reload may have
	// lowered its lease_ttl or lease_max_lifetime).
	var l *lease.Lease
	var capped bool
	err := s.cfg.Credentials.LeaseChange(func() error {
		cr, ok := s.cfg.Credentials.Get(c.lease.Credential)
		if !ok {
			return problem(http.StatusGone, api.CodeLeaseRevoked, "lease %s: its credential %q no longer exists", c.lease.ID, c.lease.Credential)
		}
		var err error
		l, capped, err = s.cfg.Leases.Renew(c.lease.ID, req.TTL, leaseInfo(cr.Info()))
		return err
	})
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, api.RenewedLease{Lease: l.API(), Capped: capped})
}

// serveRevoke revokes the lease and answers it (200, also when it had
// already ended).
func (s *Server) serveRevoke(c *call) error {
	reason := fmt.Sprintf("revoked by uid %d pid %d", c.caller.UID, c.caller.PID)
	l, err := s.cfg.Leases.Revoke(c.lease.ID, reason)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, l.API())
}

// leaseInfo is what the lease store needs of a credential.
func leaseInfo(info Description) lease.Ceiling {
	return lease.Ceiling{Name: info.Name, Hosts: info.Hosts, MaxTTL: info.LeaseTTL,
		MaxLifetime: info.LeaseMaxLifetime, NeedsBodySHA256: info.NeedsBodySHA256}
}
