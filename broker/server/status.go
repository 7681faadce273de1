package server

import (
	"net/http"

	"github.com/awf-broker/awf-broker/api"
)

func (s *Server) serveHealth(c *call) error {
	return s.writeJSON(c, http.StatusOK, api.Health{Status: "ok", Version: s.cfg.Version})
}

// serveReady answers 200 when every credential can serve a token (ready,
// or refreshing or degraded with its token still valid), else 503 listing
// the others — those the policy lets the caller see: every one for an
// admin, the ones it may lease for anyone else, none for a caller the
// broker could not identify. The overall state is for everyone.
func (s *Server) serveReady(c *call) error {
	out := api.Ready{Ready: true, NotReady: []api.NotReadyEntry{}}
	shows := c.pol.ReadinessOf(c.caller, c.known)
	for _, cr := range s.cfg.Credentials.All() {
		st := cr.Status()
		if !api.Serving(st.State) {
			out.Ready = false
			if shows(st.Name) {
				out.NotReady = append(out.NotReady, api.NotReadyEntry{Credential: st.Name, State: st.State, LastError: st.LastError})
			}
		}
	}
	status := http.StatusOK
	if !out.Ready {
		status = http.StatusServiceUnavailable
	}
	return s.writeJSON(c, status, out)
}
