package server

import (
	"net/http"
	"slices"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/lease"
)

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request, _ *call) error {
	return writeJSON(w, http.StatusOK, api.Health{Status: "ok", Version: s.cfg.Version})
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request, _ *call) error {
	out := api.Ready{Ready: true, NotReady: []api.NotReadyEntry{}}
	for _, c := range s.cfg.Credentials.All() {
		st := c.Status()
		switch st.State {
		case api.StateReady, api.StateRefreshing, api.StateDegraded:
		default:
			out.Ready = false
			out.NotReady = append(out.NotReady, api.NotReadyEntry{Credential: st.Name, State: st.State, LastError: st.LastError})
		}
	}
	status := http.StatusOK
	if !out.Ready {
		status = http.StatusServiceUnavailable
	}
	return writeJSON(w, status, out)
}

// mayLease reports whether the caller may lease (and so see) a credential.
func mayLease(c *call, info CredentialInfo) bool {
	return c.admin || slices.Contains(info.AllowUIDs, c.caller.UID) || slices.Contains(info.AllowGIDs, c.caller.GID)
}

// credential returns the {name} credential if the caller may see it.
func (s *Server) credential(r *http.Request, c *call) (Credential, error) {
	name := r.PathValue("name")
	cr, ok := s.cfg.Credentials.Get(name)
	if !ok || !mayLease(c, cr.Info()) {
		return nil, problem(http.StatusNotFound, api.CodeUnknownCredential, "no credential %q", name)
	}
	return cr, nil
}

func (s *Server) serveCredentials(w http.ResponseWriter, _ *http.Request, c *call) error {
	out := api.CredentialList{Credentials: []api.Credential{}}
	for _, cr := range s.cfg.Credentials.All() {
		if mayLease(c, cr.Info()) {
			out.Credentials = append(out.Credentials, cr.Status())
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveCredential(w http.ResponseWriter, r *http.Request, c *call) error {
	cr, err := s.credential(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cr.Status())
}

func (s *Server) serveRefresh(w http.ResponseWriter, r *http.Request, c *call) error {
	cr, err := s.credential(r, c)
	if err != nil {
		return err
	}
	st, err := cr.Refresh(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) serveCreateLease(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.CreateLeaseRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Credential == "" {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "credential is required")
	}
	if len(req.Label) > 64 {
		return problem(http.StatusBadRequest, api.CodeBadRequest, "label is longer than 64 characters")
	}
	cr, ok := s.cfg.Credentials.Get(req.Credential)
	if !ok {
		return problem(http.StatusNotFound, api.CodeUnknownCredential, "no credential %q", clip(req.Credential))
	}
	info := cr.Info()
	if !mayLease(c, info) {
		return problem(http.StatusForbidden, api.CodeForbidden, "uid %d may not lease %q", c.caller.UID, info.Name)
	}
	holder := lease.Holder{Cred: c.caller, Label: req.Label, Container: s.cfg.ContainerID(c.caller.PID)}
	l, sec, err := s.cfg.Leases.Create(lease.CredentialInfo{Name: info.Name, Hosts: info.Hosts, MaxTTL: info.LeaseTTL, NeedsBodySHA256: info.NeedsBodySHA256}, req, holder)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, api.CreatedLease{Lease: l.API(), Secret: sec.Reveal()})
}

func (s *Server) serveLeases(w http.ResponseWriter, _ *http.Request, c *call) error {
	out := api.LeaseList{Leases: s.cfg.Leases.List(func(l *lease.Lease) bool {
		return c.admin || l.Holder.UID == c.caller.UID
	})}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveLease(w http.ResponseWriter, _ *http.Request, c *call) error {
	return writeJSON(w, http.StatusOK, c.lease.API())
}

func (s *Server) serveRenew(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RenewLeaseRequest
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	l, err := s.cfg.Leases.Renew(c.lease.ID, req.TTL)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l.API())
}

func (s *Server) serveRevoke(w http.ResponseWriter, _ *http.Request, c *call) error {
	l, err := s.cfg.Leases.Revoke(c.lease.ID, "revoked by uid "+itoa(c.caller.UID))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l.API())
}

func (s *Server) serveInvalidate(w http.ResponseWriter, r *http.Request, c *call) error {
	cr, ok := s.cfg.Credentials.Get(c.lease.Credential)
	if !ok {
		return problem(http.StatusGone, api.CodeLeaseRevoked, "the lease's credential is gone")
	}
	st, err := cr.Invalidate(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, st)
}

func (s *Server) serveRegisterIdentity(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.cfg.Identities == nil {
		return problem(http.StatusNotFound, api.CodeUnknownIdentity, "no identity %q", r.PathValue("name"))
	}
	var reg api.IdentityRegistration
	if err := decode(w, r, &reg, false); err != nil {
		return err
	}
	id, err := s.cfg.Identities.Register(r.Context(), r.PathValue("name"), c.caller, reg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, id)
}

func (s *Server) serveClearIdentity(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.cfg.Identities == nil {
		return problem(http.StatusNotFound, api.CodeUnknownIdentity, "no identity %q", r.PathValue("name"))
	}
	id, err := s.cfg.Identities.Clear(r.Context(), r.PathValue("name"), c.caller)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, id)
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, _ *call) error {
	if s.cfg.Events == nil {
		return problem(http.StatusNotFound, api.CodeNotFound, "events are not enabled")
	}
	s.cfg.Events.ServeHTTP(w, r)
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *call) error {
	if s.cfg.Metrics == nil {
		return problem(http.StatusNotFound, api.CodeNotFound, "metrics are not enabled")
	}
	s.cfg.Metrics.ServeHTTP(w, r)
	return nil
}

func itoa(u uint32) string {
	const digits = "0123456789"
	if u == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = digits[u%10]
		u /= 10
	}
	return string(b[i:])
}
