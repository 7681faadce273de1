package fake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const testRole = "arn:aws:iam::123456789012:role/agent"

func newSTS(t *testing.T, gh *GitHub) *STS {
	t.Helper()
	s := NewSTS(STSOptions{GitHub: gh, RoleARN: testRole})
	t.Cleanup(s.Close)
	return s
}

func stsForm(tok string, mod func(url.Values)) url.Values {
	v := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {testRole},
		"RoleSessionName": {"awf-broker"}, "WebIdentityToken": {tok}, "DurationSeconds": {"3600"},
	}
	if mod != nil {
		mod(v)
	}
	return v
}

func postSTS(t *testing.T, s *STS, accept string, form url.Values) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestSTSIsStrict(t *testing.T) {
	gh, err := NewGitHub(GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	other, _ := NewGitHub(GitHubOptions{})
	defer other.Close()
	expired, _ := NewGitHub(GitHubOptions{TTL: -time.Minute})
	defer expired.Close()
	s := newSTS(t, gh)
	aud := "sts.amazonaws.com"
	reused := gh.MintJWT(aud)
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"good", stsForm(reused, nil), 200, ""},
		{"reused jti", stsForm(reused, nil), 400, "InvalidIdentityToken"},
		{"wrong audience", stsForm(gh.MintJWT("https://api.anthropic.com"), nil), 400, "InvalidIdentityToken"},
		{"other issuer's key", stsForm(other.MintJWT(aud), nil), 400, "InvalidIdentityToken"},
		{"not a JWT", stsForm("abcdefgh", nil), 400, "InvalidIdentityToken"},
		{"wrong action", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("Action", "AssumeRole") }), 400, "InvalidAction"},
		{"wrong version", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("Version", "2010-01-01") }), 400, "InvalidAction"},
		{"bad ARN", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("RoleArn", "arn:aws:iam::1234:user/x") }), 400, "ValidationError"},
		{"other role", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("RoleArn", "arn:aws:iam::123456789012:role/other") }), 403, "AccessDenied"},
		{"session name too short", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("RoleSessionName", "a") }), 400, "ValidationError"},
		{"session name odd", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("RoleSessionName", "a b!") }), 400, "ValidationError"},
		{"session name 65", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("RoleSessionName", strings.Repeat("a", 65)) }), 400, "ValidationError"},
		{"duration 899", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("DurationSeconds", "899") }), 400, "ValidationError"},
		{"duration above the role's max", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("DurationSeconds", "3601") }), 400, "ValidationError"},
		{"missing token", stsForm("", func(v url.Values) { v.Del("WebIdentityToken") }), 400, "MissingParameter"},
		{"unknown parameter", stsForm(gh.MintJWT(aud), func(v url.Values) { v.Set("ProviderId", "x") }), 400, "InvalidParameterValue"},
	}
	for _, c := range cases {
		for _, accept := range []string{"", "application/json"} {
			form := c.form
			status, _, body := postSTS(t, s, accept, form)
			if status != c.status || (c.code != "" && !strings.Contains(body, c.code)) {
				t.Errorf("%s (accept %q): %d %s, want %d %s", c.name, accept, status, body, c.status, c.code)
			}
			if c.name == "good" {
				break // its JWT is now spent; the JSON form is tested below
			}
		}
	}
	if s.Exchanges() != 1 {
		t.Errorf("exchanges = %d, want 1", s.Exchanges())
	}
	sx := newSTS(t, expired)
	if status, _, body := postSTS(t, sx, "", stsForm(expired.MintJWT(aud), nil)); status != 400 || !strings.Contains(body, "ExpiredTokenException") {
		t.Errorf("expired JWT: %d %s", status, body)
	}
	// The JWT never lands in what the fake records.
	for _, r := range s.Requests() {
		if strings.Contains(r.Form["WebIdentityToken"], ".") {
			t.Fatal("the fake recorded a JWT")
		}
	}
	// A GET, or the JWT in the URL, is refused.
	resp, err := http.Get(s.URL() + "?" + stsForm(gh.MintJWT(aud), nil).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("GET with a query: %d", resp.StatusCode)
	}
}

func TestSTSAnswersXMLAndJSON(t *testing.T) {
	gh, _ := NewGitHub(GitHubOptions{})
	defer gh.Close()
	s := newSTS(t, gh)
	status, h, body := postSTS(t, s, "", stsForm(gh.MintJWT("sts.amazonaws.com"), nil))
	var x struct {
		Creds struct {
			AKID       string `xml:"AccessKeyId"`
			Expiration string `xml:"Expiration"`
		} `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
	}
	if status != 200 || !strings.Contains(h.Get("Content-Type"), "xml") || xml.Unmarshal([]byte(body), &x) != nil {
		t.Fatalf("XML answer: %d %s", status, body)
	}
	exp, err := time.Parse(time.RFC3339, x.Creds.Expiration)
	if err != nil || time.Until(exp) < 59*time.Minute {
		t.Errorf("XML Expiration %q", x.Creds.Expiration)
	}
	if _, _, _, ok := s.Lookup(x.Creds.AKID); !ok {
		t.Error("issued AKID unknown to Lookup")
	}
	status, h, body = postSTS(t, s, "application/json", stsForm(gh.MintJWT("sts.amazonaws.com"), func(v url.Values) { v.Set("DurationSeconds", "900") }))
	var j struct {
		R struct {
			Res struct {
				Creds struct {
					Expiration json.Number
				} `json:"Credentials"`
			} `json:"AssumeRoleWithWebIdentityResult"`
		} `json:"AssumeRoleWithWebIdentityResponse"`
	}
	if status != 200 || !strings.Contains(h.Get("Content-Type"), "json") || json.Unmarshal([]byte(body), &j) != nil {
		t.Fatalf("JSON answer: %d %s", status, body)
	}
	f, err := j.R.Res.Creds.Expiration.Float64()
	if err != nil || !strings.Contains(string(j.R.Res.Creds.Expiration), "E") {
		t.Fatalf("JSON Expiration %q is not epoch seconds in exponent form", j.R.Res.Creds.Expiration)
	}
	if d := time.Until(time.Unix(int64(f), 0)); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("JSON Expiration %v away, want 15m", d)
	}
}

func TestSTSFaults(t *testing.T) {
	gh, _ := NewGitHub(GitHubOptions{})
	defer gh.Close()
	s := newSTS(t, gh)
	cases := []struct {
		f      STSFault
		status int
		inBody string
	}{
		{STSFault500, 500, "InternalFailure"},
		{STSFaultThrottle400, 400, "Throttling"},
		{STSFault429, 429, "Throttling"},
		{STSFaultAccessDenied, 403, "AccessDenied"},
		{STSFaultInvalidIdentityToken, 400, "InvalidIdentityToken"},
		{STSFaultMalformed, 200, "<AssumeRoleWith"},
		{STSFaultNoCredentials, 200, "AssumeRoleWithWebIdentityResult"},
		{STSFaultExpired, 200, "Expiration"},
	}
	for _, c := range cases {
		s.Fail(c.f, 1)
		status, _, body := postSTS(t, s, "", stsForm(gh.MintJWT("sts.amazonaws.com"), nil))
		if status != c.status || !strings.Contains(body, c.inBody) {
			t.Errorf("fault %d: %d %s", c.f, status, body)
		}
	}
	if s.Exchanges() != 0 {
		t.Errorf("a fault issued credentials")
	}
}

// stsCreds gets a set of credentials from s.
func stsCreds(t *testing.T, s *STS, gh *GitHub) sdkaws.Credentials {
	t.Helper()
	status, _, body := postSTS(t, s, "", stsForm(gh.MintJWT("sts.amazonaws.com"), nil))
	var x struct {
		C struct {
			AKID   string `xml:"AccessKeyId"`
			Secret string `xml:"SecretAccessKey"`
			Token  string `xml:"SessionToken"`
		} `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
	}
	if status != 200 || xml.Unmarshal([]byte(body), &x) != nil {
		t.Fatalf("sts: %d %s", status, body)
	}
	return sdkaws.Credentials{AccessKeyID: x.C.AKID, SecretAccessKey: x.C.Secret, SessionToken: x.C.Token}
}

type signOpts struct {
	creds       sdkaws.Credentials
	service     string
	region      string
	when        time.Time
	singleEsc   bool
	sendBody    []byte // differs from the signed body when set
	contentHash bool
}

// sendSigned signs a POST of body to rawURL as o says and returns the
// status and x-amzn-ErrorType.
func sendSigned(t *testing.T, rawURL string, body []byte, o signOpts) (int, string) {
	t.Helper()
	if o.service == "" {
		o.service = "bedrock"
	}
	if o.region == "" {
		o.region = "us-east-1"
	}
	if o.when.IsZero() {
		o.when = time.Now()
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	sent := body
	if o.sendBody != nil {
		sent = o.sendBody
	}
	req, err := http.NewRequest("POST", rawURL, bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if o.contentHash {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	err = v4.NewSigner().SignHTTP(context.Background(), o.creds, req, hash, o.service, o.region, o.when, func(so *v4.SignerOptions) {
		so.DisableURIPathEscaping = o.singleEsc
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	typ, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
	return resp.StatusCode, typ
}

// TestBedrockVerifiesSignatures proves the fake can fail: only a
// signature made with current credentials its STS issued, for bedrock in
// its region, over the body actually sent, passes.
func TestBedrockVerifiesSignatures(t *testing.T) {
	gh, _ := NewGitHub(GitHubOptions{})
	defer gh.Close()
	s := newSTS(t, gh)
	b := NewBedrock(BedrockOptions{STS: s, Region: "us-east-1"})
	defer b.Close()
	good := stsCreds(t, s, gh)
	body := []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	model := "anthropic.claude-3-5-sonnet-20240620-v1:0"
	converse := b.URL() + "/model/" + strings.ReplaceAll(model, ":", "%3A") + "/converse"
	if !strings.Contains(converse, "%3A") {
		t.Fatalf("test URL %s does not escape the colon", converse)
	}
	wrongSecret := good
	wrongSecret.SecretAccessKey = "not-" + good.SecretAccessKey
	wrongToken := good
	wrongToken.SessionToken = "other-" + randomHex(16)
	stranger := sdkaws.Credentials{AccessKeyID: "ASIA" + strings.ToUpper(randomHex(8)), SecretAccessKey: randomHex(20), SessionToken: randomHex(32)}
	cases := []struct {
		name   string
		o      signOpts
		status int
		typ    string
	}{
		{"good", signOpts{creds: good}, 200, ""},
		{"good with content hash", signOpts{creds: good, contentHash: true}, 200, ""},
		{"unknown AKID", signOpts{creds: stranger}, 403, "UnrecognizedClientException"},
		{"wrong secret", signOpts{creds: wrongSecret}, 403, "InvalidSignatureException"},
		{"wrong session token", signOpts{creds: wrongToken}, 403, "UnrecognizedClientException"},
		{"signing name bedrock-runtime", signOpts{creds: good, service: "bedrock-runtime"}, 403, "InvalidSignatureException"},
		{"other region", signOpts{creds: good, region: "us-west-2"}, 403, "InvalidSignatureException"},
		{"10 minutes old", signOpts{creds: good, when: time.Now().Add(-10 * time.Minute)}, 403, "InvalidSignatureException"},
		{"path escaped once", signOpts{creds: good, singleEsc: true}, 403, "InvalidSignatureException"},
		{"body differs from signed hash", signOpts{creds: good, sendBody: []byte(`{"messages":[{"role":"user","content":[{"text":"HI"}]}]}`)}, 403, "InvalidSignatureException"},
		{"body differs from x-amz-content-sha256", signOpts{creds: good, contentHash: true, sendBody: []byte(`{"messages":[{"role":"user","content":[{"text":"HI"}]}]}`)}, 403, "InvalidSignatureException"},
	}
	for _, c := range cases {
		status, typ := sendSigned(t, converse, body, c.o)
		if status != c.status || typ != c.typ {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, typ, c.status, c.typ)
		}
	}
	if got := b.Models(); len(got) != 2 || got[0] != model {
		t.Errorf("models = %q", got)
	}
	// Unsigned: refused.
	resp, err := http.Post(converse, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "MissingAuthenticationTokenException") {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	// Expired credentials: refused even with a perfect signature.
	s.ExpireAll()
	if status, typ := sendSigned(t, converse, body, signOpts{creds: good}); status != 403 || typ != "ExpiredTokenException" {
		t.Errorf("expired credentials: %d %q", status, typ)
	}
	if b.Served() != 2 || b.Refused("") != len(cases)-2+2 {
		t.Errorf("served %d refused %d", b.Served(), b.Refused(""))
	}
}
