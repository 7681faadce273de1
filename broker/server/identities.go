package server

import (
	"net/http"

	"github.com/awf-broker/awf-broker/api"
)

// serveRegisterIdentity installs a job's GitHub request URL and token. The
// body holds a secret: it is never logged.
func (s *Server) serveRegisterIdentity(c *call) error {
	var reg api.IdentityRegistration
	if err := decode(c.w, c.r, &reg, false); err != nil {
		return err
	}
	id, err := s.cfg.Identities.Register(c.r.Context(), c.r.PathValue("name"), c.caller, reg)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, id)
}

func (s *Server) serveClearIdentity(c *call) error {
	id, err := s.cfg.Identities.Clear(c.r.Context(), c.r.PathValue("name"), c.caller)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, id)
}
