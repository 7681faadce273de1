package forward

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// healthBody is the body of GET /healthz.
type healthBody struct {
	Status string `json:"status"`
	// LeaseFingerprint names the lease held without giving its id, which
	// the agent container (that can reach /healthz) has no use for.
	LeaseFingerprint string     `json:"lease_fingerprint,omitempty"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	Reason           string     `json:"reason,omitempty"`
}

// serveHealth answers GET /healthz: 200 when a lease is held and the broker
// answers its health check, else 503 with the reason. It never calls the
// upstream.
func (f *Forwarder) serveHealth(w http.ResponseWriter, r *http.Request) {
	body, status := healthBody{Status: "ok"}, http.StatusOK
	s, err := f.leases.status()
	if err == nil {
		timeout := min(f.maxWait, 2*time.Second)
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		_, err = f.b.Health(ctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("awf-broker health check failed: %w", err)
		}
	}
	if s != nil {
		exp := s.expiresAt()
		body.LeaseFingerprint, body.ExpiresAt = leaseFingerprint(s.id), &exp
	}
	if err != nil {
		body.Status, body.Reason, status = "unavailable", err.Error(), http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(body)
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// leaseFingerprint is a short, stable name for a lease: "sha256:" and the
// first 12 hex digits of its id's SHA-256. An operator matches it with
// awf-broker-cli's lease list; it cannot be used to manage the lease.
func leaseFingerprint(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:6])
}
