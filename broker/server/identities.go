package server

import (
	"net/http"
)

// serveRegisterIdentity installs a job's GitHub request URL and token (the
// wrapper decoded the body and asked the policy). The body holds a secret:
// it is never logged.
func (s *Server) serveRegisterIdentity(c *call) error {
	id, err := s.cfg.Identities.Register(c.r.Context(), c.r.PathValue("name"), c.register)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, id)
}

func (s *Server) serveClearIdentity(c *call) error {
	id, err := s.cfg.Identities.Clear(c.r.Context(), c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, id)
}
