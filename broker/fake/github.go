package fake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/awf-broker/awf-broker/broker/secret"
)

// GitHubOptions configures the GitHub OIDC fake.
type GitHubOptions struct {
	// TTL is the issued JWTs' lifetime (default 5 min, as GitHub's).
	TTL time.Duration
}

// GitHub fakes the GitHub Actions OIDC token endpoint and issuer.
type GitHub struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	kid   string
	token string
	ttl   time.Duration

	mu        sync.Mutex
	mints     int
	requests  int
	completed bool
	failWith  int
	delay     time.Duration
	issued    []string
	// jobs maps each extra job's request token to its run id.
	jobs map[string]string
}

// defaultRunID is the run id of the job whose token RequestToken returns.
const defaultRunID = "42"

// NewGitHub starts the fake on a loopback port.
func NewGitHub(opts GitHubOptions) (*GitHub, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if opts.TTL == 0 {
		opts.TTL = 5 * time.Minute
	}
	g := &GitHub{key: key, kid: randomHex(8), token: randomString(32), ttl: opts.TTL, jobs: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_apis/token", g.serveToken)
	mux.HandleFunc("GET /.well-known/openid-configuration", g.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks", g.serveJWKS)
	g.srv = httptest.NewServer(mux)
	return g, nil
}

// URL is the fake's base URL (and the JWTs' issuer).
func (g *GitHub) URL() string { return g.srv.URL }

// Issuer is the iss claim of the issued JWTs.
func (g *GitHub) Issuer() string { return g.srv.URL }

// RequestURL is what ACTIONS_ID_TOKEN_REQUEST_URL would hold.
func (g *GitHub) RequestURL() string { return g.srv.URL + "/_apis/token?api-version=2.0" }

// RequestToken is what ACTIONS_ID_TOKEN_REQUEST_TOKEN would hold.
func (g *GitHub) RequestToken() secret.Value { return secret.New(g.token) }

// AddJob makes another job: its request token mints JWTs whose run_id
// claim is runID and whose sub names it, so a test can tell which job's
// registration minted a JWT (and so a token exchanged from it).
func (g *GitHub) AddJob(runID string) secret.Value {
	tok := randomString(32)
	g.mu.Lock()
	g.jobs[tok] = runID
	g.mu.Unlock()
	return secret.New(tok)
}

// PublicKey is the issuer's signing key.
func (g *GitHub) PublicKey() *rsa.PublicKey { return &g.key.PublicKey }

// Mints counts the JWTs issued through the endpoint.
func (g *GitHub) Mints() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mints
}

// Requests counts the token requests received, answered or refused.
func (g *GitHub) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// Issued returns every JWT issued so far (for leak scans).
func (g *GitHub) Issued() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.issued...)
}

// SetCompleted makes the endpoint answer as for a completed job.
func (g *GitHub) SetCompleted(v bool) { g.mu.Lock(); g.completed = v; g.mu.Unlock() }

// FailWith makes the endpoint answer status (0 restores service).
func (g *GitHub) FailWith(status int) { g.mu.Lock(); g.failWith = status; g.mu.Unlock() }

// SetDelay makes the endpoint wait before answering.
func (g *GitHub) SetDelay(d time.Duration) { g.mu.Lock(); g.delay = d; g.mu.Unlock() }

// Close stops the fake.
func (g *GitHub) Close() { g.srv.Close() }

// MintJWT signs a JWT for aud directly (a projected token for file identities).
func (g *GitHub) MintJWT(aud string) string {
	tok, err := g.sign(aud, defaultRunID)
	if err != nil {
		panic(err)
	}
	return tok
}

func (g *GitHub) sign(aud, runID string) (string, error) {
	now := time.Now()
	sub := "repo:octo-org/octo-repo:ref:refs/heads/main"
	if runID != defaultRunID {
		sub += ":run:" + runID
	}
	tok, err := signJWT(g.key, g.kid, claims{
		Iss: g.Issuer(), Sub: sub, Aud: aud,
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(g.ttl).Unix(), Jti: randomHex(16),
		Repository: "octo-org/octo-repo", Ref: "refs/heads/main", RunID: runID, Actor: "octocat",
	})
	if err == nil {
		g.mu.Lock()
		g.issued = append(g.issued, tok)
		g.mu.Unlock()
	}
	return tok, err
}

func (g *GitHub) serveToken(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests++
	completed, failWith, delay := g.completed, g.failWith, g.delay
	runID, isJob := g.jobs[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	g.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if !isJob {
		runID = defaultRunID
	}
	if r.Header.Get("Authorization") != "Bearer "+g.token && !isJob {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "api-version is required"})
		return
	}
	switch {
	case completed:
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Can't issue ID_TOKEN for job in 'Completed' state."})
		return
	case failWith != 0:
		writeJSON(w, failWith, map[string]string{"message": "injected failure"})
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = "https://github.com/octo-org"
	}
	tok, err := g.sign(aud, runID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "signing failed"})
		return
	}
	g.mu.Lock()
	g.mints++
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": tok})
}

func (g *GitHub) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": g.Issuer(), "jwks_uri": g.Issuer() + "/.well-known/jwks",
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (g *GitHub) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	pub := g.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": g.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
