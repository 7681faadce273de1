package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// GCP wire constants (protocols.md §4).
const (
	gcpGrant      = "urn:ietf:params:oauth:grant-type:token-exchange"
	gcpAccessType = "urn:ietf:params:oauth:token-type:access_token"
	gcpJWTType    = "urn:ietf:params:oauth:token-type:jwt"
	gcpIDType     = "urn:ietf:params:oauth:token-type:id_token"
	// GCPFederatedPrefix and GCPAccessPrefix start the tokens the fake
	// STS and IAM Credentials mint.
	GCPFederatedPrefix = "ya29.d.fed-"
	GCPAccessPrefix    = "ya29.c.sa-"
)

// GCPOptions configures the GCP fake.
type GCPOptions struct {
	// GitHub is the issuer whose JWTs the workload identity provider trusts.
	GitHub *GitHub
	// WorkloadIdentityProvider is projects/N/locations/global/workloadIdentityPools/P/providers/X.
	WorkloadIdentityProvider string
	// Audience is the JWT audience the provider allows (default
	// https://iam.googleapis.com/<WorkloadIdentityProvider>).
	Audience string
	// Repository, when set, is the attribute condition: assertion.repository == Repository.
	Repository string
	// ServiceAccount is the account the federated principal may impersonate.
	ServiceAccount string
	// Scope is the scope the exchange must ask for (default cloud-platform).
	Scope string
	// ExpiresIn is the federated tokens' lifetime in seconds (default 3599).
	ExpiresIn int
	// ExpiresInJSON, when set, is stated verbatim as expires_in (a JSON
	// number: "0.1", "1e12", "-1"), for tests of hostile lifetimes.
	ExpiresInJSON string
	// MaxLifetime is the longest impersonated lifetime allowed (default
	// 3600 s; 43200 s with the org policy that extends it).
	MaxLifetime time.Duration
}

// GCP fakes Google's STS (POST /v1/token) and IAM Credentials
// (generateAccessToken) on two loopback servers.
type GCP struct {
	sts, iam           *httptest.Server
	opts               GCPOptions
	stsFault, iamFault faultQueue
	jtis               jtiSet
	fed, access        *ledger
}

// NewGCP starts the fake.
func NewGCP(opts GCPOptions) *GCP {
	if opts.Audience == "" {
		opts.Audience = "https://iam.googleapis.com/" + opts.WorkloadIdentityProvider
	}
	if opts.Scope == "" {
		opts.Scope = "https://www.googleapis.com/auth/cloud-platform"
	}
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = 3599
	}
	if opts.MaxLifetime == 0 {
		opts.MaxLifetime = time.Hour
	}
	g := &GCP{opts: opts, fed: newLedger(), access: newLedger()}
	sts := http.NewServeMux()
	sts.HandleFunc("POST /v1/token", g.serveSTS)
	g.sts = httptest.NewServer(sts)
	iam := http.NewServeMux()
	iam.HandleFunc("POST /v1/projects/-/serviceAccounts/{name}", g.serveGenerate)
	g.iam = httptest.NewServer(iam)
	return g
}

// TokenURL is the STS token URL.
func (g *GCP) TokenURL() string { return g.sts.URL + "/v1/token" }

// ImpersonationURL is the IAM Credentials base, without /v1.
func (g *GCP) ImpersonationURL() string { return g.iam.URL }

// Close stops both servers.
func (g *GCP) Close() { g.sts.Close(); g.iam.Close() }

// FailSTS makes the next n STS requests (n < 0: all until reset) answer with f.
func (g *GCP) FailSTS(f Fault, n int) { g.stsFault.set(f, n) }

// FailIAM makes the next n generateAccessToken requests answer with f.
func (g *GCP) FailIAM(f Fault, n int) { g.iamFault.set(f, n) }

// Reset restores normal service on both endpoints.
func (g *GCP) Reset() { g.stsFault.set(FaultNone, 0); g.iamFault.set(FaultNone, 0) }

// STSRequests and IAMRequests return every request each endpoint received.
func (g *GCP) STSRequests() []Received { return g.fed.received() }

// IAMRequests returns every generateAccessToken request received.
func (g *GCP) IAMRequests() []Received { return g.access.received() }

// Exchanges counts successful STS exchanges; Impersonations successful
// generateAccessToken calls.
func (g *GCP) Exchanges() int { return g.fed.count() }

// Impersonations counts successful generateAccessToken calls.
func (g *GCP) Impersonations() int { return g.access.count() }

// Valid reports whether tok is an unexpired token either endpoint minted
// (what Vertex AI would accept).
func (g *GCP) Valid(tok string) bool { return g.fed.valid(tok) || g.access.valid(tok) }

// ValidAccess reports whether tok is an unexpired service-account token.
func (g *GCP) ValidAccess(tok string) bool { return g.access.valid(tok) }

// Tokens returns every token minted (for leak scans).
func (g *GCP) Tokens() []string { return append(g.fed.all(), g.access.all()...) }

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (g *GCP) serveSTS(w http.ResponseWriter, r *http.Request) {
	raw := g.fed.record(r)
	switch g.stsFault.take() {
	case Fault500:
		oauthErr(w, 500, "server_error", "internal error")
		return
	case Fault429:
		w.Header().Set("Retry-After", "1")
		oauthErr(w, 429, "rate_limit_exceeded", "quota exceeded")
		return
	case FaultInvalidGrant:
		oauthErr(w, 400, "invalid_grant", "The audience in ID Token does not match the expected audience.")
		return
	case FaultUnauthorizedClient:
		oauthErr(w, 400, "unauthorized_client", "The given credential is rejected by the attribute condition.")
		return
	case FaultInvalidTarget:
		oauthErr(w, 400, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	case FaultStaleSubject:
		oauthErr(w, 400, "invalid_grant", "ID Token issued at "+strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)+" is stale to sign-in.")
		return
	case FaultInvalidRequest:
		oauthErr(w, 400, "invalid_request", "Invalid value for \"audience\".")
		return
	case FaultMalformed:
		writeRaw(w, 200, "application/json", "{not json")
		return
	}
	status, code, desc := g.checkSTS(r, raw)
	if status != 0 {
		oauthErr(w, status, code, desc)
		return
	}
	tok := GCPFederatedPrefix + randomString(48)
	value, ttl := expiresIn{raw: g.opts.ExpiresInJSON, n: g.opts.ExpiresIn}.answer()
	g.fed.mint(tok, ttl)
	writeJSON(w, 200, map[string]any{"access_token": tok, "issued_token_type": gcpAccessType, "token_type": "Bearer", "expires_in": value})
}

// checkSTS verifies an exchange as Google's STS does.
func (g *GCP) checkSTS(r *http.Request, raw []byte) (int, string, string) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return 400, "invalid_request", "the fake STS takes JSON bodies (the broker sends JSON)"
	}
	var body map[string]any
	if json.Unmarshal(raw, &body) != nil {
		return 400, "invalid_request", "Invalid JSON payload received."
	}
	if !exactKeys(body, "grant_type", "audience", "scope", "requested_token_type", "subject_token_type", "subject_token") {
		return 400, "invalid_request", "unexpected or missing fields"
	}
	s := func(k string) string { v, _ := body[k].(string); return v }
	switch {
	case s("grant_type") != gcpGrant:
		return 400, "unsupported_grant_type", "Invalid value for \"grant_type\"."
	case !strings.HasPrefix(s("audience"), "//iam.googleapis.com/projects/"):
		return 400, "invalid_request", "Invalid value for \"audience\"."
	case s("audience") != "//iam.googleapis.com/"+g.opts.WorkloadIdentityProvider:
		return 400, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid."
	case s("scope") != g.opts.Scope:
		return 400, "invalid_scope", "Invalid value for \"scope\"."
	case s("requested_token_type") != gcpAccessType:
		return 400, "invalid_request", "Invalid value for \"requested_token_type\"."
	case s("subject_token_type") != gcpJWTType && s("subject_token_type") != gcpIDType:
		return 400, "invalid_request", "Invalid value for \"subject_token_type\"."
	}
	c, problem := checkSubject(g.opts.GitHub, s("subject_token"), g.opts.Audience, &g.jtis)
	switch problem {
	case subjectInvalid:
		return 400, "invalid_grant", "Invalid ID Token."
	case subjectAudience:
		return 400, "invalid_grant", "The audience in ID Token does not match the expected audience."
	case subjectExpired:
		return 400, "invalid_grant", "ID Token issued at " + strconv.FormatInt(c.Iat, 10) + " is stale to sign-in."
	case subjectFuture:
		return 400, "invalid_grant", "ID Token is not yet valid."
	case subjectReused:
		return 400, "invalid_grant", "ID Token has already been used."
	}
	if g.opts.Repository != "" && c.Repository != g.opts.Repository {
		return 400, "unauthorized_client", "The given credential is rejected by the attribute condition."
	}
	return 0, "", ""
}

// googleErr writes Google's API error shape.
func googleErr(w http.ResponseWriter, status int, gstatus, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": gstatus}})
}

func (g *GCP) serveGenerate(w http.ResponseWriter, r *http.Request) {
	raw := g.access.record(r)
	switch g.iamFault.take() {
	case Fault500:
		googleErr(w, 500, "INTERNAL", "Internal error encountered.")
		return
	case Fault429:
		w.Header().Set("Retry-After", "1")
		googleErr(w, 429, "RESOURCE_EXHAUSTED", "Quota exceeded.")
		return
	case FaultUnavailable:
		googleErr(w, 503, "UNAVAILABLE", "The service is currently unavailable.")
		return
	case FaultPermissionDenied:
		googleErr(w, 403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	case FaultInvalidArgument:
		googleErr(w, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		return
	case FaultMalformed:
		writeRaw(w, 200, "application/json", `{"accessToken":`)
		return
	case FaultNoExpireTime:
		tok := GCPAccessPrefix + randomString(48)
		g.access.mint(tok, time.Hour)
		writeJSON(w, 200, map[string]any{"accessToken": tok})
		return
	}
	status, gstatus, msg, lifetime := g.checkGenerate(r, raw)
	if status != 0 {
		googleErr(w, status, gstatus, msg)
		return
	}
	tok := GCPAccessPrefix + randomString(48)
	g.access.mint(tok, lifetime)
	writeJSON(w, 200, map[string]any{"accessToken": tok, "expireTime": time.Now().Add(lifetime).UTC().Format(time.RFC3339)})
}

// checkGenerate verifies a generateAccessToken call as IAM Credentials
// does: a federated token our STS issued, the impersonable account, the
// body's exact fields, a lifetime within the allowed maximum.
func (g *GCP) checkGenerate(r *http.Request, raw []byte) (int, string, string, time.Duration) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !g.fed.valid(bearer) {
		return 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.", 0
	}
	sa, ok := strings.CutSuffix(r.PathValue("name"), ":generateAccessToken")
	if !ok {
		return 404, "NOT_FOUND", "Method not found.", 0
	}
	if sa != g.opts.ServiceAccount {
		return 403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", 0
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return 400, "INVALID_ARGUMENT", "Invalid JSON payload received.", 0
	}
	var body struct {
		Scope     []string `json:"scope"`
		Lifetime  string   `json:"lifetime"`
		Delegates []string `json:"delegates"`
	}
	var keys map[string]any
	if json.Unmarshal(raw, &keys) != nil || json.Unmarshal(raw, &body) != nil {
		return 400, "INVALID_ARGUMENT", "Invalid JSON payload received.", 0
	}
	if !exactKeys(keys, "scope", "lifetime", "delegates") {
		return 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown or missing field.", 0
	}
	if len(body.Scope) == 0 || len(body.Delegates) != 0 {
		return 400, "INVALID_ARGUMENT", "Request contains an invalid argument.", 0
	}
	for _, s := range body.Scope {
		if s != g.opts.Scope {
			return 400, "INVALID_ARGUMENT", "Request contains an invalid scope.", 0
		}
	}
	secs, err := strconv.Atoi(strings.TrimSuffix(body.Lifetime, "s"))
	if err != nil || !strings.HasSuffix(body.Lifetime, "s") || secs <= 0 {
		return 400, "INVALID_ARGUMENT", "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration).", 0
	}
	lifetime := time.Duration(secs) * time.Second
	if lifetime > g.opts.MaxLifetime {
		return 400, "INVALID_ARGUMENT", fmt.Sprintf("The lifetime is invalid: it must be at most %ds.", int(g.opts.MaxLifetime/time.Second)), 0
	}
	return 0, "", "", lifetime
}
