package fake

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// Faults of the cloud token endpoints (GCP STS and IAM Credentials,
// Entra, OpenAI), each answered in the real endpoint's shape. Fault500,
// Fault429 and FaultMalformed apply to them too; FaultInvalidGrant is
// GCP's and OpenAI's 400 invalid_grant.
const (
	FaultUnauthorizedClient     Fault = 100 + iota // GCP STS: attribute condition refused
	FaultInvalidTarget                             // GCP STS: pool or provider missing or disabled
	FaultInvalidRequest                            // GCP STS: malformed request
	FaultPermissionDenied                          // GCP IAM: 403 PERMISSION_DENIED
	FaultInvalidArgument                           // GCP IAM: 400 INVALID_ARGUMENT
	FaultUnavailable                               // GCP IAM: 503 UNAVAILABLE
	FaultNoExpireTime                              // GCP IAM: 200 without expireTime
	FaultInvalidClient                             // Entra: 401 invalid_client, AADSTS700213
	FaultNoFederatedCredential                     // Entra: AADSTS70021
	FaultAppNotFound                               // Entra: AADSTS700016
	FaultTenantNotFound                            // Entra: AADSTS90002
	FaultInvalidScope                              // Entra: invalid_scope
	FaultAssertionTime                             // Entra: AADSTS700024, assertion outside its time range
	FaultTemporarilyUnavailable                    // Entra: 503 temporarily_unavailable
	FaultInvalidSubjectToken                       // OpenAI: 401 invalid_subject_token
	FaultForbidden                                 // OpenAI: 403 invalid_grant
	FaultTimeout                                   // OpenAI: 408
	FaultConflict                                  // OpenAI: 409
	FaultNoExpiresIn                               // OpenAI: 200 without expires_in
	FaultStaleSubject                              // GCP STS: invalid_grant, the subject token is stale
)

// Received is one request a cloud fake received, body verbatim.
type Received struct {
	Path   string
	Header http.Header
	Body   []byte
}

// faultQueue holds the fault an endpoint answers the next n requests with.
type faultQueue struct {
	mu   sync.Mutex
	f    Fault
	left int // < 0: until reset
}

func (q *faultQueue) set(f Fault, n int) {
	q.mu.Lock()
	q.f, q.left = f, n
	q.mu.Unlock()
}

func (q *faultQueue) take() Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.f
	if f != FaultNone && q.left > 0 {
		q.left--
		if q.left == 0 {
			q.f = FaultNone
		}
	}
	return f
}

// ledger records requests and the tokens an endpoint minted.
type ledger struct {
	mu        sync.Mutex
	requests  []Received
	tokens    map[string]time.Time // token → expiry
	exchanges int
}

func newLedger() *ledger { return &ledger{tokens: map[string]time.Time{}} }

// record reads r's body (at most 1 MiB) and keeps a copy of the request.
func (l *ledger) record(r *http.Request) []byte {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	l.mu.Lock()
	l.requests = append(l.requests, Received{Path: r.URL.Path, Header: r.Header.Clone(), Body: raw})
	l.mu.Unlock()
	return raw
}

func (l *ledger) mint(tok string, ttl time.Duration) {
	l.mu.Lock()
	l.tokens[tok] = time.Now().Add(ttl)
	l.exchanges++
	l.mu.Unlock()
}

func (l *ledger) valid(tok string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	exp, ok := l.tokens[tok]
	return ok && time.Now().Before(exp)
}

func (l *ledger) received() []Received {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Received(nil), l.requests...)
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exchanges
}

func (l *ledger) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.tokens))
	for t := range l.tokens {
		out = append(out, t)
	}
	return out
}

// subjectProblem is why a subject JWT was refused.
type subjectProblem int

const (
	subjectOK       subjectProblem = iota
	subjectInvalid                 // malformed, bad signature, no kid/sub, wrong issuer
	subjectAudience                // aud is not the one configured
	subjectExpired                 // exp passed (30 s skew)
	subjectFuture                  // iat in the future
	subjectReused                  // jti seen before
)

// jtiSet remembers the jti of every accepted subject token.
type jtiSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

// checkSubject verifies a subject JWT as the clouds' token endpoints do:
// RS256 signature by the GitHub fake's key, kid and sub present, issuer,
// audience, exp/iat with 30 s of skew, and a jti not seen before (which
// it then remembers).
func checkSubject(gh *GitHub, tok, aud string, jtis *jtiSet) (claims, subjectProblem) {
	if gh == nil {
		return claims{}, subjectInvalid
	}
	h, c, err := verifyJWT(gh.PublicKey(), tok)
	if err != nil || h.Kid == "" || c.Sub == "" || c.Iss != gh.Issuer() || c.Jti == "" {
		return c, subjectInvalid
	}
	if c.Aud != aud {
		return c, subjectAudience
	}
	now := time.Now().Unix()
	const skew = 30
	switch {
	case c.Exp <= now-skew:
		return c, subjectExpired
	case c.Iat > now+skew:
		return c, subjectFuture
	}
	jtis.mu.Lock()
	defer jtis.mu.Unlock()
	if jtis.seen == nil {
		jtis.seen = map[string]bool{}
	}
	if jtis.seen[c.Jti] {
		return c, subjectReused
	}
	jtis.seen[c.Jti] = true
	return c, subjectOK
}

// exactKeys reports whether m has exactly the keys want.
func exactKeys(m map[string]any, want ...string) bool {
	if len(m) != len(want) {
		return false
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

func writeRaw(w http.ResponseWriter, status int, ctype, body string) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
