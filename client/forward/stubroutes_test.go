package forward

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

func (b *stubBroker) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, api.Health{Status: "ok", Version: "stub"})
	})
	mux.HandleFunc("GET /v1/credentials", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, api.CredentialList{Credentials: []api.CredentialStatus{{
			Name: b.credential, Provider: "anthropic", State: api.StateReady,
			Hosts: []string{b.upHost}, Target: "http://" + b.upHost,
		}}})
	})
	mux.HandleFunc("POST /v1/leases", b.serveCreate)
	mux.HandleFunc("POST /v1/leases/{id}/renew", b.serveRenew)
	mux.HandleFunc("DELETE /v1/leases/{id}", b.serveRevoke)
	mux.HandleFunc("POST /v1/leases/{id}/headers", b.serveHeaders)
	mux.HandleFunc("POST /v1/leases/{id}/invalidate", b.serveInvalidate)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b.violate("unexpected %s %s", r.Method, r.URL.Path)
		writeProblem(w, http.StatusNotFound, api.CodeNotFound, "no such route", 0)
	})
	return mux
}

// decode reads a JSON body strictly: 64 KiB at most, no unknown fields.
func (b *stubBroker) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Body == nil || r.ContentLength == 0 {
		return true
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		b.violate("%s %s: bad JSON body: %v", r.Method, r.URL.Path, err)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "body too large", 0)
		} else {
			writeProblem(w, http.StatusBadRequest, api.CodeUnknownField, err.Error(), 0)
		}
		return false
	}
	return true
}

func (b *stubBroker) serveCreate(w http.ResponseWriter, r *http.Request) {
	var req api.CreateLeaseRequest
	if !b.decode(w, r, &req) {
		return
	}
	if req.Credential != b.credential {
		writeProblem(w, http.StatusNotFound, api.CodeUnknownCredential, "unknown credential "+req.Credential, 0)
		return
	}
	if req.Bind != api.BindProcess {
		b.violate("create lease: bind %q, want %q", req.Bind, api.BindProcess)
	}
	ttl := 15 * time.Minute
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, api.CodeBadRequest, "bad ttl", 0)
			return
		}
		ttl = d
	}
	b.creates.Add(1)
	now := time.Now()
	b.mu.Lock()
	b.seq++
	l := &stubLease{id: fmt.Sprintf("lse_%d", b.seq), secret: fmt.Sprintf("sec-%d-%d", b.seq, now.UnixNano()), ttl: ttl, expires: now.Add(ttl)}
	b.leases[l.id] = l
	b.createdAt = append(b.createdAt, now)
	b.mu.Unlock()
	writeJSON(w, http.StatusCreated, api.CreatedLease{Lease: b.view(l), Secret: l.secret})
}

func (b *stubBroker) view(l *stubLease) api.Lease {
	return api.Lease{ID: l.id, Credential: b.credential, Scope: api.Scope{Hosts: []string{b.upHost}},
		Bind: api.BindProcess, State: api.LeaseActive, CreatedAt: l.expires.Add(-l.ttl).UTC(),
		ExpiresAt: l.expires.UTC(), NeedsBodySHA256: b.needsSHA}
}

// lease finds the lease of r and checks its state (and secret when auth).
func (b *stubBroker) lease(w http.ResponseWriter, r *http.Request, auth bool) *stubLease {
	b.mu.Lock()
	l := b.leases[r.PathValue("id")]
	var revoked, expired bool
	var secret string
	if l != nil {
		revoked, expired, secret = l.revoked, time.Now().After(l.expires), l.secret
	}
	b.mu.Unlock()
	switch {
	case l == nil:
		writeProblem(w, http.StatusNotFound, api.CodeUnknownLease, "unknown lease", 0)
	case auth && r.Header.Get("Authorization") != "Bearer "+secret:
		writeProblem(w, http.StatusUnauthorized, api.CodeUnauthenticated, "bad lease secret", 0)
	case revoked:
		writeProblem(w, http.StatusGone, api.CodeLeaseRevoked, "lease revoked", 0)
	case expired:
		writeProblem(w, http.StatusGone, api.CodeLeaseExpired, "lease expired", 0)
	default:
		return l
	}
	return nil
}

func (b *stubBroker) serveRenew(w http.ResponseWriter, r *http.Request) {
	var req api.RenewLeaseRequest
	if !b.decode(w, r, &req) {
		return
	}
	l := b.lease(w, r, false)
	if l == nil {
		return
	}
	b.renews.Add(1)
	now := time.Now()
	b.mu.Lock()
	l.expires = now.Add(l.ttl)
	b.renewedAt = append(b.renewedAt, now)
	v := b.view(l)
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (b *stubBroker) serveRevoke(w http.ResponseWriter, r *http.Request) {
	l := b.lease(w, r, false)
	if l == nil {
		return
	}
	b.revokes.Add(1)
	b.mu.Lock()
	l.revoked = true
	v := b.view(l)
	b.mu.Unlock()
	v.State = api.LeaseRevoked
	writeJSON(w, http.StatusOK, v)
}

// forbiddenHeader reports whether the forwarder should have stripped name.
func forbiddenHeader(name string) bool {
	switch name {
	case "authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key",
		"forwarded", "via", "connection", "keep-alive", "te", "transfer-encoding", "upgrade", "host":
		return true
	}
	return strings.HasPrefix(name, "x-forwarded-") || strings.HasPrefix(name, "x-amz-")
}

func (b *stubBroker) serveHeaders(w http.ResponseWriter, r *http.Request) {
	var req api.HeadersRequest
	if !b.decode(w, r, &req) {
		return
	}
	b.headerCalls.Add(1)
	l := b.lease(w, r, true)
	if l == nil {
		return
	}
	b.mu.Lock()
	b.seen = append(b.seen, req)
	mode, retryAfter, tok := b.mode, b.retryAfter, "tok-"+strconv.Itoa(b.granted)
	b.mu.Unlock()
	for k := range req.Headers {
		if k != strings.ToLower(k) || forbiddenHeader(k) {
			b.violate("headers request carries header %q", k)
		}
	}
	if b.needsSHA != (req.BodySHA256 != "") {
		b.violate("body_sha256 %q with needs_body_sha256=%v", req.BodySHA256, b.needsSHA)
	}
	if _, err := hex.DecodeString(req.BodySHA256); err != nil || (req.BodySHA256 != "" && len(req.BodySHA256) != 2*sha256.Size) {
		b.violate("body_sha256 %q is not hex SHA-256", req.BodySHA256)
	}
	u, err := url.Parse(req.URL)
	if err != nil || !u.IsAbs() || req.Method == "" {
		b.violate("headers request with method %q url %q", req.Method, req.URL)
		writeProblem(w, http.StatusBadRequest, api.CodeBadRequest, "bad url", 0)
		return
	}
	if u.Host != b.upHost || strings.HasPrefix(u.Path, "/forbidden") {
		writeProblem(w, http.StatusForbidden, api.CodeScopeViolation, "host or path outside the lease", 0)
		return
	}
	switch mode {
	case modeUnavailable:
		writeProblem(w, http.StatusServiceUnavailable, api.CodeCredentialUnavailable, "token not ready", retryAfter)
		return
	case modeFailed:
		p := api.Problem{Type: api.ProblemTypeBase + api.CodeCredentialFailed, Title: "credential failed",
			Status: 503, Code: api.CodeCredentialFailed, Detail: "exchange refused", UpstreamCode: "invalid_grant"}
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.WriteHeader(503)
		json.NewEncoder(w).Encode(p)
		return
	case modeGarbage:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "<html>not json")
		return
	case modeEmptyGrant:
		writeJSON(w, http.StatusOK, api.HeadersResponse{Set: map[string]string{}, ValidUntil: time.Now().Add(time.Minute)})
		return
	}
	writeJSON(w, http.StatusOK, api.HeadersResponse{
		Set:        map[string]string{"authorization": "Bearer " + tok, "x-stub-granted": "yes"},
		Remove:     []string{"x-remove-me"},
		ValidUntil: time.Now().Add(time.Minute).UTC(),
	})
}

func (b *stubBroker) serveInvalidate(w http.ResponseWriter, r *http.Request) {
	if l := b.lease(w, r, true); l == nil {
		return
	}
	b.invalidates.Add(1)
	b.mu.Lock()
	b.granted = b.valid
	b.mu.Unlock()
	writeJSON(w, http.StatusAccepted, api.CredentialStatus{Name: b.credential, Provider: "anthropic", State: api.StateReady})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, code, detail string, retryAfter int) {
	w.Header().Set("Content-Type", api.ProblemContentType)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Problem{Type: api.ProblemTypeBase + code, Title: http.StatusText(status),
		Status: status, Code: code, Detail: detail, RetryAfter: retryAfter})
}
