package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// The Anthropic exchange's wire constants (protocols.md §2).
const (
	exchangeBeta = "oauth-2025-04-20,oidc-federation-2026-04-01"
	grantJWT     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// TokenPrefix starts every token the fake mints.
	TokenPrefix = "sk-ant-oat01-"
)

// Fault is a failure the token endpoint can be told to answer with.
type Fault int

// Faults.
const (
	FaultNone Fault = iota
	Fault500
	Fault429          // with Retry-After: 1
	FaultDeny401      // the current API shape
	FaultInvalidGrant // the older RFC 6749 shape, at 400
	FaultMalformed    // 200 with a body that is not JSON
	FaultTruncated    // 200 with JSON cut short
	FaultHTML         // 502 with an HTML page
	FaultSlow         // answers after the configured delay
)

// AnthropicOptions configures the token endpoint fake.
type AnthropicOptions struct {
	// GitHub is the issuer whose JWTs are accepted.
	GitHub                                             *GitHub
	Audience                                           string
	FederationRuleID, OrganizationID, ServiceAccountID string
	// ExpiresIn is the lifetime of minted tokens in seconds (default 3600):
	// the federation rule's token lifetime.
	ExpiresIn int
	// Subject is the federation rule's subject match: the assertion's sub
	// must equal it, or start with what precedes a trailing "*" (the
	// Console's prefix match, e.g. "repo:octo-org/octo-repo:*"). Empty
	// accepts any subject.
	Subject string
	// BoundByAssertion caps a minted token's lifetime at the assertion's
	// remaining validity, as the Console does ("upper-bounded by JWT
	// expiry"): with GitHub's 5-minute JWTs a token lives minutes.
	BoundByAssertion bool
	// Workspaces are the workspaces the rule applies to (and the service
	// account is a member of); empty leaves workspaces unchecked. With one,
	// the exchange may name it or none; with more than one, it must name
	// one of them. Naming a workspace outside them is refused with the
	// opaque 401, as the real endpoint refuses it.
	Workspaces []string
}

// Exchange is one request the token endpoint received.
type Exchange struct {
	Header http.Header
	Body   map[string]any
}

// Anthropic fakes POST /v1/oauth/token.
type Anthropic struct {
	srv  *httptest.Server
	opts AnthropicOptions

	mu        sync.Mutex
	expiresIn int
	// expiresInJSON, when set, is stated verbatim as expires_in.
	expiresInJSON string
	fault         Fault
	faultLeft     int // < 0: until Reset
	delay         time.Duration
	jtis          map[string]bool
	tokens        map[string]time.Time // token → expiry
	runIDs        map[string]string    // token → run_id of the JWT it was exchanged for
	requests      []Exchange
	exchanges     int
	minted        []Mint
	rate          rateFault
	archived      bool
	bounded       bool
	subject       string
	workspace     []string
}

// NewAnthropic starts the fake on a loopback port.
func NewAnthropic(opts AnthropicOptions) *Anthropic {
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = 3600
	}
	if opts.Audience == "" {
		opts.Audience = "https://api.anthropic.com"
	}
	a := &Anthropic{opts: opts, expiresIn: opts.ExpiresIn, bounded: opts.BoundByAssertion, subject: opts.Subject, workspace: opts.Workspaces, jtis: map[string]bool{}, tokens: map[string]time.Time{}, runIDs: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth/token", a.serveToken)
	a.srv = httptest.NewServer(mux)
	return a
}

// URL is the fake's base URL; the token URL is URL()+"/v1/oauth/token".
func (a *Anthropic) URL() string { return a.srv.URL }

// TokenURL is the full token endpoint URL.
func (a *Anthropic) TokenURL() string { return a.srv.URL + "/v1/oauth/token" }

// Close stops the fake.
func (a *Anthropic) Close() { a.srv.Close() }

// Fail makes the next n requests (n < 0: all until Reset) answer with f.
func (a *Anthropic) Fail(f Fault, n int) {
	a.mu.Lock()
	a.fault, a.faultLeft = f, n
	a.mu.Unlock()
}

// Reset restores normal service.
func (a *Anthropic) Reset() { a.Fail(FaultNone, 0); a.FailRate(FaultNone, 0) }

// SetDelay sets how long FaultSlow waits.
func (a *Anthropic) SetDelay(d time.Duration) { a.mu.Lock(); a.delay = d; a.mu.Unlock() }

// SetExpiresIn sets the lifetime, in seconds, of tokens minted from now on.
func (a *Anthropic) SetExpiresIn(s int) { a.mu.Lock(); a.expiresIn = s; a.mu.Unlock() }

// SetExpiresInJSON makes the fake state expires_in as raw, a JSON number
// written verbatim ("0.1", "1e12", "-1"), for tests of hostile lifetimes.
func (a *Anthropic) SetExpiresInJSON(raw string) { a.mu.Lock(); a.expiresInJSON = raw; a.mu.Unlock() }

// ArchiveRule archives (deletes) the federation rule: every later
// exchange naming it is refused as the real endpoint refuses an unknown
// or archived rule, with an opaque 401.
func (a *Anthropic) ArchiveRule() { a.mu.Lock(); a.archived = true; a.mu.Unlock() }

// SetSubject changes the federation rule's subject match (see
// AnthropicOptions.Subject).
func (a *Anthropic) SetSubject(pattern string) { a.mu.Lock(); a.subject = pattern; a.mu.Unlock() }

// SetWorkspaces changes the rule's workspaces (see
// AnthropicOptions.Workspaces).
func (a *Anthropic) SetWorkspaces(ws ...string) { a.mu.Lock(); a.workspace = ws; a.mu.Unlock() }

// SetBoundByAssertion sets whether minted tokens live no longer than the
// assertion they were exchanged for (see AnthropicOptions).
func (a *Anthropic) SetBoundByAssertion(v bool) { a.mu.Lock(); a.bounded = v; a.mu.Unlock() }

// Exchanges counts successful exchanges.
func (a *Anthropic) Exchanges() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.exchanges
}

// Requests returns copies of every request received.
func (a *Anthropic) Requests() []Exchange {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Exchange(nil), a.requests...)
}

// Valid reports whether tok was minted here, is unexpired and not revoked.
func (a *Anthropic) Valid(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.tokens[tok]
	return ok && time.Now().Before(exp)
}

// RunIDOf returns the GitHub run_id claim of the JWT that tok was
// exchanged for ("" for a token not minted here): which job's identity
// the token stands for.
func (a *Anthropic) RunIDOf(tok string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runIDs[tok]
}

// RevokeAll invalidates every token minted so far.
func (a *Anthropic) RevokeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.tokens {
		a.tokens[t] = time.Time{}
	}
}

// Tokens returns every token minted so far (for leak scans).
func (a *Anthropic) Tokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.tokens))
	for t := range a.tokens {
		out = append(out, t)
	}
	return out
}

func (a *Anthropic) takeFault() (Fault, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.rate.take(); ok && a.fault == FaultNone {
		return f, a.delay
	}
	f := a.fault
	if f != FaultNone && a.faultLeft > 0 {
		a.faultLeft--
		if a.faultLeft == 0 {
			a.fault = FaultNone
		}
	}
	return f, a.delay
}

func (a *Anthropic) serveToken(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	a.mu.Lock()
	a.requests = append(a.requests, Exchange{Header: r.Header.Clone(), Body: body})
	a.mu.Unlock()

	fault, delay := a.takeFault()
	switch fault {
	case Fault500:
		writeJSON(w, http.StatusInternalServerError, apiError("api_error", "Internal server error"))
		return
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, apiError("rate_limit_error", "Rate limited"))
		return
	case FaultDeny401:
		writeJSON(w, http.StatusUnauthorized, apiError("authentication_error", "Authentication failed"))
		return
	case FaultInvalidGrant:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "assertion rejected"})
		return
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "this is not json")
		return
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"`+TokenPrefix+`trunc`)
		return
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		return
	case FaultSlow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	status, runID, assertionExp, err := a.check(r, body)
	if err != nil {
		if status == http.StatusUnauthorized {
			writeJSON(w, status, apiError("authentication_error", err.Error()))
		} else {
			writeJSON(w, status, apiError("invalid_request_error", err.Error()))
		}
		return
	}
	tok := TokenPrefix + randomString(64)
	a.mu.Lock()
	exp, stated := a.expiresIn, a.expiresInJSON
	now := time.Now()
	if left := int(assertionExp - now.Unix()); a.bounded && stated == "" && left < exp {
		exp = max(left, 1)
	}
	value, ttl := expiresIn{raw: stated, n: exp}.answer()
	a.tokens[tok] = now.Add(ttl)
	a.runIDs[tok] = runID
	a.minted = append(a.minted, Mint{At: now, Lifetime: ttl})
	a.exchanges++
	a.mu.Unlock()
	w.Header().Set("Request-Id", "req_"+randomHex(12))
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": value, "scope": "workspace:inference"})
}

// check verifies the request as the real endpoint does and returns the
// status to refuse it with, or the assertion's run_id and exp claims.
func (a *Anthropic) check(r *http.Request, body map[string]any) (int, string, int64, error) {
	status, err := a.checkRequest(r, body)
	if err != nil {
		return status, "", 0, err
	}
	assertion, _ := body["assertion"].(string)
	return a.checkAssertion(assertion)
}

func (a *Anthropic) checkRequest(r *http.Request, body map[string]any) (int, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return 400, fmt.Errorf("content-type must be application/json")
	}
	if got := r.Header.Get("anthropic-beta"); got != exchangeBeta {
		return 400, fmt.Errorf("anthropic-beta must be %q", exchangeBeta)
	}
	if body == nil {
		return 400, fmt.Errorf("body is not a JSON object")
	}
	str := func(k string) (string, bool) { v, ok := body[k].(string); return v, ok }
	if g, _ := str("grant_type"); g != grantJWT {
		return 400, fmt.Errorf("unsupported grant_type")
	}
	ws, hasWS := str("workspace_id")
	if hasWS && ws == "" {
		return 400, fmt.Errorf("workspace_id must not be empty")
	}
	a.mu.Lock()
	rule := a.workspace
	a.mu.Unlock()
	if !workspaceAllowed(rule, ws) {
		return 401, denied("Authentication failed")
	}
	for k, want := range map[string]string{"federation_rule_id": a.opts.FederationRuleID, "organization_id": a.opts.OrganizationID} {
		if got, _ := str(k); got == "" {
			return 400, fmt.Errorf("%s is required", k)
		} else if got != want {
			return 401, denied("Authentication failed")
		}
	}
	a.mu.Lock()
	archived := a.archived
	a.mu.Unlock()
	if archived {
		return 401, denied("Authentication failed")
	}
	if a.opts.ServiceAccountID != "" {
		if got, _ := str("service_account_id"); got != a.opts.ServiceAccountID {
			return 401, denied("Authentication failed")
		}
	}
	assertion, _ := str("assertion")
	if assertion == "" {
		return 400, fmt.Errorf("assertion is required")
	}
	if len(assertion) > 16<<10 {
		return 400, fmt.Errorf("assertion too large")
	}
	return 0, nil
}

func (a *Anthropic) checkAssertion(assertion string) (int, string, int64, error) {
	deny := denied("Authentication failed")
	if a.opts.GitHub == nil {
		return 401, "", 0, deny
	}
	h, c, err := verifyJWT(a.opts.GitHub.PublicKey(), assertion)
	a.mu.Lock()
	subject := a.subject
	a.mu.Unlock()
	if err != nil || h.Kid == "" || c.Sub == "" || c.Iss != a.opts.GitHub.Issuer() || c.Aud != a.opts.Audience || !subjectMatches(subject, c.Sub) {
		return 401, "", 0, deny
	}
	now := time.Now().Unix()
	const skew = 30
	switch {
	case c.Exp <= now-skew:
		return 401, "", 0, denied("Authentication failed: assertion expired")
	case c.Iat > now+skew:
		return 401, "", 0, deny
	case c.Exp-c.Iat > 3600:
		return 401, "", 0, deny
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.Jti == "" {
		return 401, "", 0, deny
	}
	if a.jtis[c.Jti] {
		return 401, "", 0, denied("Authentication failed: jti_reused")
	}
	a.jtis[c.Jti] = true
	return 0, c.RunID, c.Exp, nil
}

// workspaceAllowed reports whether an exchange naming ws ("" for none)
// resolves to one workspace of the rule's.
func workspaceAllowed(rule []string, ws string) bool {
	switch {
	case len(rule) == 0:
		return true
	case ws == "":
		return len(rule) == 1
	}
	for _, w := range rule {
		if w == ws {
			return true
		}
	}
	return false
}

// subjectMatches applies a federation rule's subject match: exact, or a
// prefix when the pattern ends in "*"; an empty pattern matches any.
func subjectMatches(pattern, sub string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(sub, prefix)
	}
	return pattern == "" || pattern == sub
}

func apiError(typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": "req_" + randomHex(12)}
}

// denied is a refusal message sent as the real endpoint words it.
type denied string

func (d denied) Error() string { return string(d) }
