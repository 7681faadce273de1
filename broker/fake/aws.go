package fake

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// STSFault is a failure the STS fake can be told to answer with.
type STSFault int

// STS faults.
const (
	STSFaultNone                 STSFault = iota
	STSFault500                           // 500 InternalFailure
	STSFaultThrottle400                   // 400 Throttling, as STS sends it
	STSFault429                           // 429 Throttling with Retry-After: 1
	STSFaultAccessDenied                  // 403 AccessDenied (trust policy)
	STSFaultInvalidIdentityToken          // 400 InvalidIdentityToken
	STSFaultMalformed                     // 200 with a body that is neither XML nor JSON
	STSFaultNoCredentials                 // 200 without Credentials
	STSFaultExpired                       // 200 whose Expiration is in the past
)

// STSOptions configures the STS fake.
type STSOptions struct {
	// GitHub is the issuer whose JWTs are accepted.
	GitHub *GitHub
	// Audience is the JWT audience the IAM OIDC provider lists (default
	// "sts.amazonaws.com").
	Audience string
	// RoleARN is the role whose trust policy admits the GitHub issuer;
	// any other well-formed ARN is AccessDenied.
	RoleARN string
	// MaxSessionDuration is the role's (default 1h).
	MaxSessionDuration time.Duration
	// Lifetime, when set, overrides DurationSeconds for the credentials
	// issued (a test knob: real STS issues what was asked).
	Lifetime time.Duration
}

// STSRequest is one request the STS fake received (the token is left out).
type STSRequest struct {
	Header http.Header
	Form   map[string]string
}

// issued is one set of credentials the STS fake handed out.
type issued struct {
	secret, token string
	expires       time.Time
}

// STS fakes AssumeRoleWithWebIdentity of AWS STS, unsigned, as a form POST.
type STS struct {
	srv  *httptest.Server
	opts STSOptions

	mu        sync.Mutex
	lifetime  time.Duration
	fault     STSFault
	faultLeft int
	jtis      map[string]bool
	creds     map[string]issued // AKID → credentials
	requests  []STSRequest
	exchanges int
}

var (
	fakeRoleARNRE = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// NewSTS starts the fake on a loopback port.
func NewSTS(opts STSOptions) *STS {
	if opts.Audience == "" {
		opts.Audience = "sts.amazonaws.com"
	}
	if opts.MaxSessionDuration == 0 {
		opts.MaxSessionDuration = time.Hour
	}
	s := &STS{opts: opts, lifetime: opts.Lifetime, jtis: map[string]bool{}, creds: map[string]issued{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the STS endpoint URL.
func (s *STS) URL() string { return s.srv.URL }

// Close stops the fake.
func (s *STS) Close() { s.srv.Close() }

// Fail makes the next n requests (n < 0: all until Reset) answer with f.
func (s *STS) Fail(f STSFault, n int) { s.mu.Lock(); s.fault, s.faultLeft = f, n; s.mu.Unlock() }

// Reset restores normal service.
func (s *STS) Reset() { s.Fail(STSFaultNone, 0) }

// SetLifetime overrides the lifetime of credentials issued from now on
// (0: DurationSeconds).
func (s *STS) SetLifetime(d time.Duration) { s.mu.Lock(); s.lifetime = d; s.mu.Unlock() }

// Exchanges counts credentials issued.
func (s *STS) Exchanges() int { s.mu.Lock(); defer s.mu.Unlock(); return s.exchanges }

// Requests returns copies of every request received.
func (s *STS) Requests() []STSRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]STSRequest(nil), s.requests...)
}

// Lookup returns the secret key and session token issued with akid, and
// when they expire.
func (s *STS) Lookup(akid string) (secretKey, sessionToken string, expires time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[akid]
	return c.secret, c.token, c.expires, ok
}

// ExpireAll makes every credential issued so far expired.
func (s *STS) ExpireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.creds {
		c.expires = time.Now().Add(-time.Second)
		s.creds[k] = c
	}
}

// Secrets returns every secret key and session token issued (for leak scans).
func (s *STS) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, 2*len(s.creds))
	for _, c := range s.creds {
		out = append(out, c.secret, c.token)
	}
	return out
}

func (s *STS) takeFault() STSFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault
	if f != STSFaultNone && s.faultLeft > 0 {
		s.faultLeft--
		if s.faultLeft == 0 {
			s.fault = STSFaultNone
		}
	}
	return f
}

// stsRefusal is an STS error answer.
type stsRefusal struct {
	status        int
	typ           string // Sender | Receiver
	code, message string
}

func (e *stsRefusal) Error() string { return e.code + ": " + e.message }

func sender(status int, code, format string, args ...any) *stsRefusal {
	return &stsRefusal{status: status, typ: "Sender", code: code, message: fmt.Sprintf(format, args...)}
}

func (s *STS) serve(w http.ResponseWriter, r *http.Request) {
	wantJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	reqID := uuidLike()
	w.Header().Set("x-amzn-RequestId", reqID)
	form, refusal := s.readForm(r)
	switch s.takeFault() {
	case STSFault500:
		refusal = &stsRefusal{status: 500, typ: "Receiver", code: "InternalFailure", message: "An internal error occurred."}
	case STSFaultThrottle400:
		refusal = sender(400, "Throttling", "Rate exceeded")
	case STSFault429:
		w.Header().Set("Retry-After", "1")
		refusal = sender(429, "Throttling", "Rate exceeded")
	case STSFaultAccessDenied:
		refusal = sender(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	case STSFaultInvalidIdentityToken:
		refusal = sender(400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements")
	case STSFaultMalformed:
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWith")
		return
	case STSFaultNoCredentials:
		s.answer(w, wantJSON, reqID, nil, time.Time{})
		return
	case STSFaultExpired:
		s.answer(w, wantJSON, reqID, &issued{secret: randomString(30), token: randomString(60)}, time.Now().Add(-time.Minute))
		return
	}
	if refusal == nil {
		refusal = s.check(form)
	}
	if refusal != nil {
		s.refuse(w, wantJSON, reqID, refusal)
		return
	}
	dur := time.Hour
	if v := form["DurationSeconds"]; v != "" {
		n, _ := strconv.Atoi(v)
		dur = time.Duration(n) * time.Second
	}
	akid := "ASIA" + strings.ToUpper(randomHex(8))
	c := issued{secret: randomString(30), token: "FQoGZXIvYXdzE" + randomString(180)}
	s.mu.Lock()
	if s.lifetime > 0 {
		dur = s.lifetime
	}
	c.expires = time.Now().Add(dur)
	s.creds[akid] = c
	s.exchanges++
	s.mu.Unlock()
	s.answerAKID(w, wantJSON, reqID, akid, &c, c.expires)
}

// readForm reads the POST form, refusing parameters in the URL (the fake
// is stricter than STS here: the JWT must stay out of URLs and logs).
func (s *STS) readForm(r *http.Request) (map[string]string, *stsRefusal) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	form := map[string]string{}
	rec := STSRequest{Header: r.Header.Clone(), Form: map[string]string{}}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()
	if r.Method != http.MethodPost {
		return nil, sender(400, "InvalidAction", "the fake takes AssumeRoleWithWebIdentity only as a POST")
	}
	if r.URL.RawQuery != "" {
		return nil, sender(400, "InvalidQueryParameter", "parameters belong in the form body, not the URL")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, sender(400, "InvalidParameterValue", "Content-Type must be application/x-www-form-urlencoded")
	}
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, sender(400, "MalformedQueryString", "the form body does not parse")
	}
	for k, v := range vals {
		if len(v) != 1 {
			return nil, sender(400, "InvalidParameterValue", "parameter %s given %d times", k, len(v))
		}
		form[k] = v[0]
		if k != "WebIdentityToken" {
			rec.Form[k] = v[0]
		} else {
			rec.Form[k] = "[redacted]"
		}
	}
	return form, nil
}

// check verifies the request as STS does and returns its refusal, if any.
func (s *STS) check(form map[string]string) *stsRefusal {
	if form["Action"] != "AssumeRoleWithWebIdentity" {
		return sender(400, "InvalidAction", "Could not find operation %.40s for version %.20s", form["Action"], form["Version"])
	}
	if form["Version"] != "2011-06-15" {
		return sender(400, "InvalidAction", "Could not find operation AssumeRoleWithWebIdentity for version %.20s", form["Version"])
	}
	for _, k := range []string{"RoleArn", "RoleSessionName", "WebIdentityToken"} {
		if form[k] == "" {
			return sender(400, "MissingParameter", "The request must contain the parameter %s", k)
		}
	}
	for k := range form {
		switch k {
		case "Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken", "DurationSeconds", "Policy":
		default:
			return sender(400, "InvalidParameterValue", "unknown parameter %.40s", k)
		}
	}
	if !fakeRoleARNRE.MatchString(form["RoleArn"]) {
		return sender(400, "ValidationError", "1 validation error detected: Value at 'roleArn' failed to satisfy constraint")
	}
	if !sessionNameRE.MatchString(form["RoleSessionName"]) {
		return sender(400, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	if v, ok := form["DurationSeconds"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 {
			return sender(400, "ValidationError", "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
		}
		if time.Duration(n)*time.Second > s.opts.MaxSessionDuration {
			return sender(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	tok := form["WebIdentityToken"]
	if len(tok) < 4 || len(tok) > 20000 {
		return sender(400, "ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint")
	}
	jti, refusal := s.checkToken(tok)
	if refusal != nil {
		return refusal
	}
	if form["RoleArn"] != s.opts.RoleARN {
		return sender(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jtis[jti] {
		return sender(400, "InvalidIdentityToken", "the token's jti has been used before")
	}
	s.jtis[jti] = true
	return nil
}

// checkToken verifies the JWT against the fake GitHub's key, audience and
// expiry, and returns its jti (the caller spends it once all else passed).
func (s *STS) checkToken(tok string) (string, *stsRefusal) {
	invalid := func(msg string) *stsRefusal { return sender(400, "InvalidIdentityToken", "%s", msg) }
	if s.opts.GitHub == nil {
		return "", invalid("No OpenIDConnect provider found in your account for this issuer")
	}
	h, c, err := verifyJWT(s.opts.GitHub.PublicKey(), tok)
	switch {
	case err != nil:
		return "", invalid("The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.")
	case h.Kid == "" || c.Iss != s.opts.GitHub.Issuer():
		return "", invalid("No OpenIDConnect provider found in your account for this issuer")
	case c.Aud != s.opts.Audience:
		return "", invalid("Incorrect token audience")
	case c.Sub == "" || c.Jti == "":
		return "", invalid("the token has no sub or jti claim")
	}
	now := time.Now().Unix()
	if c.Exp <= now {
		return "", sender(400, "ExpiredTokenException", "Token expired: current date/time %d must be before the expiration date/time %d", now, c.Exp)
	}
	if c.Iat > now+60 || c.Nbf > now+60 {
		return "", invalid("the token is not valid yet")
	}
	return c.Jti, nil
}

func (s *STS) refuse(w http.ResponseWriter, wantJSON bool, reqID string, e *stsRefusal) {
	if wantJSON {
		writeJSON(w, e.status, map[string]any{
			"Error":     map[string]string{"Type": e.typ, "Code": e.code, "Message": e.message},
			"RequestId": reqID,
		})
		return
	}
	type errBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type errResp struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		XMLNS     string   `xml:"xmlns,attr"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	writeXML(w, e.status, errResp{XMLNS: stsNS, Error: errBody{e.typ, e.code, e.message}, RequestID: reqID})
}

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

func (s *STS) answer(w http.ResponseWriter, wantJSON bool, reqID string, c *issued, exp time.Time) {
	akid := ""
	if c != nil {
		akid = "ASIA" + strings.ToUpper(randomHex(8))
	}
	s.answerAKID(w, wantJSON, reqID, akid, c, exp)
}

// answerAKID writes a success answer; c == nil leaves Credentials out.
func (s *STS) answerAKID(w http.ResponseWriter, wantJSON bool, reqID, akid string, c *issued, exp time.Time) {
	const sub = "repo:octo-org/octo-repo:ref:refs/heads/main"
	roleUser := map[string]string{"Arn": s.opts.RoleARN + "/awf-broker", "AssumedRoleId": "AROA" + strings.ToUpper(randomHex(8)) + ":awf-broker"}
	if wantJSON {
		result := map[string]any{
			"AssumedRoleUser": roleUser, "Audience": s.opts.Audience, "PackedPolicySize": nil,
			"Provider": "token.actions.githubusercontent.com", "SourceIdentity": nil, "SubjectFromWebIdentityToken": sub,
		}
		if c != nil {
			// STS's JSON gives Expiration as epoch seconds in exponent form.
			secs := float64(exp.UnixMilli()) / 1000
			result["Credentials"] = map[string]any{
				"AccessKeyId": akid, "SecretAccessKey": c.secret, "SessionToken": c.token,
				"Expiration": rawNumber(strconv.FormatFloat(secs, 'E', -1, 64)),
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"AssumeRoleWithWebIdentityResponse": map[string]any{
			"AssumeRoleWithWebIdentityResult": result, "ResponseMetadata": map[string]string{"RequestId": reqID},
		}})
		return
	}
	type xmlCreds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type xmlResult struct {
		Credentials                 *xmlCreds `xml:"Credentials,omitempty"`
		SubjectFromWebIdentityToken string    `xml:"SubjectFromWebIdentityToken"`
		AssumedRoleUser             struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Provider string `xml:"Provider"`
		Audience string `xml:"Audience"`
	}
	type xmlResp struct {
		XMLName   xml.Name  `xml:"AssumeRoleWithWebIdentityResponse"`
		XMLNS     string    `xml:"xmlns,attr"`
		Result    xmlResult `xml:"AssumeRoleWithWebIdentityResult"`
		RequestID string    `xml:"ResponseMetadata>RequestId"`
	}
	res := xmlResult{SubjectFromWebIdentityToken: sub, Provider: "token.actions.githubusercontent.com", Audience: s.opts.Audience}
	res.AssumedRoleUser.Arn, res.AssumedRoleUser.AssumedRoleID = roleUser["Arn"], roleUser["AssumedRoleId"]
	if c != nil {
		res.Credentials = &xmlCreds{akid, c.secret, c.token, exp.UTC().Format(time.RFC3339)}
	}
	writeXML(w, http.StatusOK, xmlResp{XMLNS: stsNS, Result: res, RequestID: reqID})
}

// rawNumber is a JSON number written as given.
type rawNumber string

func (n rawNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

func uuidLike() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
