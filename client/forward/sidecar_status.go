package forward

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// sidecarHealth is the body of GET /health, the api-proxy's shape: status
// is always "healthy" (AWF's compose healthcheck asks only whether the
// sidecar answers); providers says which can serve a request now.
type sidecarHealth struct {
	Status    string          `json:"status"`
	Service   string          `json:"service"`
	Providers map[string]bool `json:"providers"`
}

// sidecarEndpoint is one entry of GET /reflect.
type sidecarEndpoint struct {
	Provider   string `json:"provider"`
	Port       int    `json:"port"`
	BaseURL    string `json:"base_url"`
	Configured bool   `json:"configured"`
}

// healthBudget bounds the broker call behind /health.
const healthBudget = time.Second

// serveHealth reports, for every api-proxy provider, whether its port holds
// a lease on a credential whose token the broker can serve now. It answers
// at once at start, with false for what is not ready yet.
func (s *sidecar) serveHealth(w http.ResponseWriter, req *http.Request, r sidecarRoute) {
	usable := map[string]bool{} // by credential name
	ctx, cancel := context.WithTimeout(req.Context(), healthBudget)
	creds, err := s.client.Credentials(ctx)
	cancel()
	if err == nil {
		for _, c := range creds {
			usable[c.Name] = api.Serving(c.State)
		}
	}
	body := sidecarHealth{Status: "healthy", Service: "awf-api-proxy", Providers: make(map[string]bool, len(api.APIProxyProviders()))}
	if r.port != s.routes[0].port {
		body.Service = "awf-api-proxy-" + r.name
	}
	for _, n := range api.APIProxyProviders() {
		ready := false
		if f := s.fwds[n]; f != nil && usable[s.credOf[n]] {
			_, lerr := f.leases.status()
			ready = lerr == nil
		}
		body.Providers[n] = ready
	}
	writeJSONBody(w, http.StatusOK, body)
}

// serveReflect lists the api-proxy's endpoints and which are configured.
func (s *sidecar) serveReflect(w http.ResponseWriter) {
	base := s.routes[0].port
	names := api.APIProxyProviders()
	eps := make([]sidecarEndpoint, len(names))
	for i, n := range names {
		port := base + i
		eps[i] = sidecarEndpoint{Provider: n, Port: port, BaseURL: "http://" + s.advertise + ":" + strconv.Itoa(port), Configured: s.fwds[n] != nil}
	}
	writeJSONBody(w, http.StatusOK, map[string]any{"endpoints": eps})
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
