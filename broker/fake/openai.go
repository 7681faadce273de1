package fake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
)

// OpenAI wire constants (protocols.md §6).
const (
	openaiGrant     = "urn:ietf:params:oauth:grant-type:token-exchange"
	openaiJWTType   = "urn:ietf:params:oauth:token-type:jwt"
	openaiIDType    = "urn:ietf:params:oauth:token-type:id_token"
	openaiIssued    = "urn:ietf:params:oauth:token-type:access_token"
	defaultOpenAIAu = "https://api.openai.com/v1"
	// OpenAITokenPrefix starts every token the fake mints.
	OpenAITokenPrefix = "oai-wif-"
)

// OpenAIOptions configures the OpenAI fake.
type OpenAIOptions struct {
	GitHub                               *GitHub
	IdentityProviderID, ServiceAccountID string
	// Audience is the provider's configured audience (default https://api.openai.com/v1).
	Audience string
	// ExpiresIn is the minted tokens' lifetime in seconds (default 3600).
	ExpiresIn int
	// ExpiresInJSON, when set, is stated verbatim as expires_in (a JSON
	// number: "0.1", "1e12", "-1"), for tests of hostile lifetimes.
	ExpiresInJSON string
}

// OpenAI fakes POST /oauth/token of auth.openai.com for one workload
// identity provider mapped to one service account.
type OpenAI struct {
	srv    *httptest.Server
	opts   OpenAIOptions
	faults faultQueue
	jtis   jtiSet
	led    *ledger
}

// NewOpenAI starts the fake.
func NewOpenAI(opts OpenAIOptions) *OpenAI {
	if opts.Audience == "" {
		opts.Audience = defaultOpenAIAu
	}
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = 3600
	}
	o := &OpenAI{opts: opts, led: newLedger()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", o.serveToken)
	o.srv = httptest.NewServer(mux)
	return o
}

// TokenURL is the token endpoint URL.
func (o *OpenAI) TokenURL() string { return o.srv.URL + "/oauth/token" }

// Close stops the fake.
func (o *OpenAI) Close() { o.srv.Close() }

// Fail makes the next n requests (n < 0: all until Reset) answer with f.
func (o *OpenAI) Fail(f Fault, n int) { o.faults.set(f, n) }

// Reset restores normal service.
func (o *OpenAI) Reset() { o.faults.set(FaultNone, 0) }

// Requests returns every request received.
func (o *OpenAI) Requests() []Received { return o.led.received() }

// Exchanges counts successful exchanges.
func (o *OpenAI) Exchanges() int { return o.led.count() }

// Valid reports whether tok was minted here and is unexpired.
func (o *OpenAI) Valid(tok string) bool { return o.led.valid(tok) }

// Tokens returns every token minted (for leak scans).
func (o *OpenAI) Tokens() []string { return o.led.all() }

func (o *OpenAI) serveToken(w http.ResponseWriter, r *http.Request) {
	raw := o.led.record(r)
	w.Header().Set("x-request-id", "req_"+randomHex(16))
	fault := o.faults.take()
	switch fault {
	case Fault500:
		oauthErr(w, 500, "server_error", "internal error")
		return
	case Fault429:
		w.Header().Set("Retry-After", "1")
		oauthErr(w, 429, "rate_limit_exceeded", "too many requests")
		return
	case FaultTimeout:
		oauthErr(w, 408, "request_timeout", "request timed out")
		return
	case FaultConflict:
		oauthErr(w, 409, "conflict", "concurrent request")
		return
	case FaultInvalidGrant:
		oauthErr(w, 400, "invalid_grant", "no mapping for this subject")
		return
	case FaultInvalidSubjectToken:
		oauthErr(w, 401, "invalid_subject_token", "subject token rejected")
		return
	case FaultForbidden:
		oauthErr(w, 403, "invalid_grant", "service account is disabled")
		return
	case FaultMalformed:
		writeRaw(w, 200, "application/json", "<html>")
		return
	}
	if status, code, desc := o.check(r, raw); status != 0 {
		oauthErr(w, status, code, desc)
		return
	}
	tok := OpenAITokenPrefix + randomString(48)
	value, ttl := expiresIn{raw: o.opts.ExpiresInJSON, n: o.opts.ExpiresIn}.answer()
	o.led.mint(tok, ttl)
	ans := map[string]any{"access_token": tok, "issued_token_type": openaiIssued, "token_type": "Bearer", "expires_in": value}
	if fault == FaultNoExpiresIn {
		delete(ans, "expires_in")
	}
	writeJSON(w, 200, ans)
}

// check verifies an exchange as OpenAI does: JSON, the exact fields, the
// provider and service account, and the subject token (signature, kid,
// issuer, audience, exp/iat, single-use jti).
func (o *OpenAI) check(r *http.Request, raw []byte) (int, string, string) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return 400, "invalid_request", "content-type must be application/json"
	}
	var body map[string]any
	if json.Unmarshal(raw, &body) != nil {
		return 400, "invalid_request", "body is not JSON"
	}
	if !exactKeys(body, "grant_type", "subject_token_type", "subject_token", "identity_provider_id", "service_account_id") {
		return 400, "invalid_request", "unexpected or missing fields"
	}
	s := func(k string) string { v, _ := body[k].(string); return v }
	switch {
	case s("grant_type") != openaiGrant:
		return 400, "unsupported_grant_type", "grant_type must be token-exchange"
	case s("subject_token_type") != openaiJWTType && s("subject_token_type") != openaiIDType:
		return 400, "invalid_request", "unsupported subject_token_type"
	case s("identity_provider_id") != o.opts.IdentityProviderID:
		return 400, "invalid_grant", "unknown identity provider"
	case s("service_account_id") != o.opts.ServiceAccountID:
		return 403, "invalid_grant", "the identity provider maps to no such service account"
	}
	switch _, problem := checkSubject(o.opts.GitHub, s("subject_token"), o.opts.Audience, &o.jtis); problem {
	case subjectOK:
		return 0, "", ""
	case subjectExpired:
		return 401, "invalid_subject_token", "subject token expired"
	case subjectReused:
		return 401, "invalid_subject_token", "subject token already used"
	default:
		return 401, "invalid_subject_token", "subject token rejected"
	}
}
