package fake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Entra wire constants (protocols.md §5).
const (
	entraAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// EntraTokenPrefix starts every token the fake mints.
	EntraTokenPrefix = "eyJ0eXAiOiJKV1QiLCJmYWtlIjoiZW50cmEifQ."
)

// AzureOptions configures the Entra fake. Audience and Scope default to
// the public cloud's.
type AzureOptions struct {
	GitHub             *GitHub
	TenantID, ClientID string
	// Audience is the federated credential's audience (default api://AzureADTokenExchange).
	Audience string
	// Scope is the scope the app may ask for (default https://cognitiveservices.azure.com/.default).
	Scope string
	// Subject, when set, is the federated credential's subject; the
	// JWT's sub must equal it.
	Subject string
	// ExpiresIn is the minted tokens' lifetime in seconds (default 3599).
	ExpiresIn int
	// ExpiresInJSON, when set, is stated verbatim as expires_in (a JSON
	// number: "0.1", "1e12", "-1"), for tests of hostile lifetimes.
	ExpiresInJSON string
}

// Azure fakes the Entra v2 token endpoint, POST /<tenant>/oauth2/v2.0/token,
// for one tenant, app registration and federated credential.
type Azure struct {
	srv    *httptest.Server
	opts   AzureOptions
	faults faultQueue
	jtis   jtiSet
	led    *ledger
}

// NewAzure starts the fake.
func NewAzure(opts AzureOptions) *Azure {
	if opts.Audience == "" {
		opts.Audience = "api://AzureADTokenExchange"
	}
	if opts.Scope == "" {
		opts.Scope = "https://cognitiveservices.azure.com/.default"
	}
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = 3599
	}
	a := &Azure{opts: opts, led: newLedger()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", a.serveToken)
	a.srv = httptest.NewServer(mux)
	return a
}

// TokenURL is the tenant's token URL.
func (a *Azure) TokenURL() string { return a.srv.URL + "/" + a.opts.TenantID + "/oauth2/v2.0/token" }

// Close stops the fake.
func (a *Azure) Close() { a.srv.Close() }

// Fail makes the next n requests (n < 0: all until Reset) answer with f.
func (a *Azure) Fail(f Fault, n int) { a.faults.set(f, n) }

// Reset restores normal service.
func (a *Azure) Reset() { a.faults.set(FaultNone, 0) }

// Requests returns every request received.
func (a *Azure) Requests() []Received { return a.led.received() }

// Exchanges counts successful exchanges.
func (a *Azure) Exchanges() int { return a.led.count() }

// Valid reports whether tok was minted here and is unexpired.
func (a *Azure) Valid(tok string) bool { return a.led.valid(tok) }

// Tokens returns every token minted (for leak scans).
func (a *Azure) Tokens() []string { return a.led.all() }

// entraErr writes Entra's error shape.
func entraErr(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	trace := uuid.NewString()
	desc := msg
	codes := []int{}
	if aadsts != 0 {
		desc = "AADSTS" + strconv.Itoa(aadsts) + ": " + msg
		codes = []int{aadsts}
	}
	desc += " Trace ID: " + trace + " Correlation ID: " + uuid.NewString() + " Timestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z")
	w.Header().Set("x-ms-request-id", trace)
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": codes,
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": trace, "correlation_id": uuid.NewString()})
}

func (a *Azure) serveToken(w http.ResponseWriter, r *http.Request) {
	raw := a.led.record(r)
	switch f := a.faults.take(); f {
	case FaultMalformed:
		writeRaw(w, 200, "application/json", `{"token_type":"Bearer","access_`)
		return
	default:
		if e, ok := entraFaults[f]; ok {
			if f == Fault429 {
				w.Header().Set("Retry-After", "1")
			}
			entraErr(w, e.status, e.code, e.aadsts, e.msg)
			return
		}
	}
	if status, code, aadsts, msg := a.check(r, raw); status != 0 {
		entraErr(w, status, code, aadsts, msg)
		return
	}
	tok := EntraTokenPrefix + randomString(48)
	value, ttl := expiresIn{raw: a.opts.ExpiresInJSON, n: a.opts.ExpiresIn}.answer()
	a.led.mint(tok, ttl)
	w.Header().Set("x-ms-request-id", uuid.NewString())
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": value, "ext_expires_in": value, "access_token": tok})
}

// check verifies a client_credentials request as Entra does.
func (a *Azure) check(r *http.Request, raw []byte) (int, string, int, string) {
	if r.PathValue("tenant") != a.opts.TenantID {
		return 400, "invalid_request", 90002, "Tenant '" + clipped(r.PathValue("tenant")) + "' not found."
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return 400, "invalid_request", 900144, "The request body is not a form."
	}
	want := []string{"grant_type", "client_id", "client_assertion_type", "client_assertion", "scope"}
	if len(form) != len(want) {
		return 400, "invalid_request", 900144, "unexpected or missing parameters"
	}
	for _, k := range want {
		if len(form[k]) != 1 || form[k][0] == "" {
			return 400, "invalid_request", 900144, "The request body must contain the following parameter: '" + k + "'."
		}
	}
	switch {
	case form.Get("grant_type") != "client_credentials":
		return 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
	case form.Get("client_id") != a.opts.ClientID:
		return 400, "unauthorized_client", 700016, "Application with identifier '" + clipped(form.Get("client_id")) + "' was not found in the directory."
	case form.Get("client_assertion_type") != entraAssertionType:
		return 400, "invalid_request", 50027, "Invalid client assertion type."
	case form.Get("scope") != a.opts.Scope:
		return 400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid."
	}
	c, problem := checkSubject(a.opts.GitHub, form.Get("client_assertion"), a.opts.Audience, &a.jtis)
	switch problem {
	case subjectInvalid:
		return 401, "invalid_client", 50027, "Invalid JWT token."
	case subjectAudience:
		return 400, "invalid_client", 700212, "No matching federated identity record found for presented assertion audience."
	case subjectExpired, subjectFuture:
		return 400, "invalid_client", 700024, "Client assertion is not within its valid time range."
	case subjectReused:
		return 400, "invalid_client", 0, "fake Entra: the client assertion's jti was already used."
	}
	if a.opts.Subject != "" && c.Sub != a.opts.Subject {
		return 401, "invalid_client", 700213, "No matching federated identity record found for presented assertion subject."
	}
	return 0, "", 0, ""
}

// clipped keeps echoed request text short.
func clipped(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// entraFaults are the refusals the Entra fake can be told to answer, in
// Entra's own words.
var entraFaults = map[Fault]struct {
	status int
	code   string
	aadsts int
	msg    string
}{
	Fault500:                    {500, "server_error", 0, "internal error"},
	Fault429:                    {429, "temporarily_unavailable", 0, "too many requests"},
	FaultTemporarilyUnavailable: {503, "temporarily_unavailable", 0, "the service is temporarily unavailable"},
	FaultInvalidClient:          {401, "invalid_client", 700213, "No matching federated identity record found for presented assertion subject."},
	FaultNoFederatedCredential:  {400, "invalid_request", 70021, "No matching federated identity record found for presented assertion."},
	FaultAppNotFound:            {400, "unauthorized_client", 700016, "Application with identifier was not found in the directory."},
	FaultTenantNotFound:         {400, "invalid_request", 90002, "Tenant not found."},
	FaultInvalidScope:           {400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid."},
	FaultAssertionTime:          {400, "invalid_client", 700024, "Client assertion is not within its valid time range."},
}
