package server

import (
	"net/http"

	"github.com/awf-broker/awf-broker/api"
)

// serveCredentials lists what the caller may lease (admins: everything).
func (s *Server) serveCredentials(c *call) error {
	out := api.CredentialList{Credentials: []api.CredentialStatus{}}
	for _, cr := range s.cfg.Credentials.All() {
		if c.pol.MaySee(c.caller, cr.Info().Name) {
			out.Credentials = append(out.Credentials, cr.Status())
		}
	}
	return s.writeJSON(c, http.StatusOK, out)
}

func (s *Server) serveCredential(c *call) error {
	return s.writeJSON(c, http.StatusOK, c.cred.Status())
}

func (s *Server) serveRefresh(c *call) error {
	st, err := c.cred.Refresh(c.r.Context())
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, st)
}
