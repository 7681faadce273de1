package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/identity"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

const (
	roleARN = "arn:aws:iam::123456789012:role/agent"
	region  = "us-east-1"
)

type env struct {
	gh      *fake.GitHub
	sts     *fake.STS
	bedrock *fake.Bedrock
	subj    *identity.GitHubActions
	prov    *Provider
}

func fastHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	sts := fake.NewSTS(fake.STSOptions{GitHub: gh, RoleARN: roleARN, MaxSessionDuration: 2 * time.Hour})
	t.Cleanup(sts.Close)
	br := fake.NewBedrock(fake.BedrockOptions{STS: sts, Region: region})
	t.Cleanup(br.Close)
	subj, err := identity.NewGitHubActions(identity.GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{AWS: settings.AWS{RoleARN: roleARN, Region: region, TokenURL: sts.URL()}, HTTP: fastHTTP()}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: gh, sts: sts, bedrock: br, subj: subj, prov: p}
}

func TestExchangeWireContract(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SessionName = "job-42@octo"; c.Duration = 90 * time.Minute })
	tok, err := e.prov.Exchange(context.Background(), e.subj)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AWS == nil || !tok.Value.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	sk, st, _, ok := e.sts.Lookup(tok.AWS.AccessKeyID)
	if !ok || tok.AWS.SecretAccessKey.Reveal() != sk || tok.AWS.SessionToken.Reveal() != st {
		t.Fatal("the credentials are not the ones STS issued")
	}
	// JSON answer: Expiration as epoch seconds; lifetime counted from receipt.
	if tok.Lifetime > 90*time.Minute || tok.Lifetime < 90*time.Minute-10*time.Second {
		t.Errorf("lifetime = %v, want ~90m", tok.Lifetime)
	}
	if tok.RequestID == "" {
		t.Error("no request id captured")
	}
	reqs := e.sts.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d STS requests", len(reqs))
	}
	r := reqs[0]
	want := map[string]string{
		"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": roleARN,
		"RoleSessionName": "job-42@octo", "DurationSeconds": "5400", "WebIdentityToken": "[redacted]",
	}
	if fmt.Sprint(r.Form) != fmt.Sprint(want) {
		t.Errorf("form = %v\nwant   %v", r.Form, want)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.Header.Get("Accept") != "application/json" || r.Header.Get("Authorization") != "" {
		t.Errorf("headers = %v", r.Header)
	}
}

func TestNewValidates(t *testing.T) {
	good := Config{AWS: settings.AWS{RoleARN: roleARN, Region: region}}
	cases := map[string]func(*Config){
		"odd region":           func(c *Config) { c.Region = "us-east-1;rm" },
		"bad ARN":              func(c *Config) { c.RoleARN = "arn:aws:iam::1:role/x" },
		"short session name":   func(c *Config) { c.SessionName = "a" },
		"odd session name":     func(c *Config) { c.SessionName = "a b" },
		"duration too short":   func(c *Config) { c.Duration = 10 * time.Minute },
		"duration too long":    func(c *Config) { c.Duration = 13 * time.Hour },
		"plain http token_url": func(c *Config) { c.TokenURL = "http://sts.us-east-1.amazonaws.com" },
	}
	for name, mod := range cases {
		c := good
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for r, want := range map[string]string{
		"us-east-1":     "https://sts.us-east-1.amazonaws.com",
		"cn-north-1":    "https://sts.cn-north-1.amazonaws.com.cn",
		"us-gov-west-1": "https://sts.us-gov-west-1.amazonaws.com",
	} {
		c := good
		c.Region = r
		p, err := New(c)
		if err != nil || p.cfg.TokenURL != want || p.cfg.Audience != "sts.amazonaws.com" || p.cfg.SessionName != "awf-broker" || p.cfg.Duration != time.Hour {
			t.Errorf("%s: %v %+v", r, err, p)
		}
	}
}

// answer serves canned STS answers, one per call, the last repeated.
func answer(t *testing.T, replies ...reply) (*Provider, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(replies) {
			i = len(replies) - 1
		}
		rp := replies[i]
		w.Header().Set("Content-Type", rp.ctype)
		w.Header().Set("x-amzn-RequestId", "req-canned")
		w.WriteHeader(rp.status)
		fmt.Fprint(w, strings.ReplaceAll(rp.body, "EXP", rp.exp))
	}))
	t.Cleanup(srv.Close)
	p, err := New(Config{AWS: settings.AWS{RoleARN: roleARN, Region: region, TokenURL: srv.URL}, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return p, &n
}

type reply struct {
	status      int
	ctype, body string
	exp         string
}

type fixedSubject struct{ jwt string }

func (f fixedSubject) Mint(context.Context, string) (secret.Value, error) {
	return secret.New(f.jwt), nil
}

const placeholderJWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

const xmlOK = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials><AccessKeyId>ASIAXML</AccessKeyId><SecretAccessKey>SECRETXML</SecretAccessKey><SessionToken>TOKENXML</SessionToken><Expiration>EXP</Expiration></Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>body-req</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`

const jsonOK = `{"AssumeRoleWithWebIdentityResponse":{"AssumeRoleWithWebIdentityResult":{"Credentials":{"AccessKeyId":"ASIAJSON","SecretAccessKey":"SECRETJSON","SessionToken":"TOKENJSON","Expiration":EXP}},"ResponseMetadata":{"RequestId":"r"}}}`

func TestAnswers(t *testing.T) {
	in := func(d time.Duration) time.Time { return time.Now().Add(d) }
	iso := func(d time.Duration) string { return in(d).UTC().Format(time.RFC3339) }
	epoch := func(d time.Duration, f string) string {
		return fmt.Sprintf(f, float64(in(d).UnixMilli())/1000)
	}
	xmlErr := func(code, msg string) string {
		return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + msg + `</Message></Error><RequestId>x</RequestId></ErrorResponse>`
	}
	jsonErr := func(code, msg string) string {
		return `{"Error":{"Code":"` + code + `","Message":"` + msg + `","Type":"Sender"},"RequestId":"x"}`
	}
	cases := []struct {
		name     string
		r        reply
		lifetime time.Duration // success when non-zero
		kind     provider.Kind
		code     string
		inText   string
	}{
		{"xml", reply{200, "text/xml", xmlOK, iso(time.Hour)}, time.Hour, 0, "", ""},
		{"xml without content-type", reply{200, "", xmlOK, iso(30 * time.Minute)}, 30 * time.Minute, 0, "", ""},
		{"json epoch exponent", reply{200, "application/json", jsonOK, epoch(time.Hour, "%.12E")}, time.Hour, 0, "", ""},
		{"json epoch fraction", reply{200, "application/json", jsonOK, epoch(20*time.Minute, "%.3f")}, 20 * time.Minute, 0, "", ""},
		{"json epoch integer", reply{200, "application/json", jsonOK, fmt.Sprint(in(45 * time.Minute).Unix())}, 45 * time.Minute, 0, "", ""},
		{"json iso string", reply{200, "application/json", jsonOK, `"` + iso(time.Hour) + `"`}, time.Hour, 0, "", ""},
		{"clock-skewed expiration capped at the duration", reply{200, "text/xml", xmlOK, iso(5 * time.Hour)}, time.Hour, 0, "", ""},
		{"expiration in the past", reply{200, "text/xml", xmlOK, iso(-time.Minute)}, 0, provider.Transient, "malformed_response", "not in the future"},
		{"expiration garbage", reply{200, "text/xml", xmlOK, "tomorrow"}, 0, provider.Transient, "malformed_response", "not ISO-8601"},
		{"json expiration null", reply{200, "application/json", jsonOK, "null"}, 0, provider.Transient, "malformed_response", "no Expiration"},
		{"no credentials xml", reply{200, "text/xml", `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult/></AssumeRoleWithWebIdentityResponse>`, ""}, 0, provider.Transient, "malformed_response", "no Credentials"},
		{"no credentials json", reply{200, "application/json", `{"AssumeRoleWithWebIdentityResponse":{"AssumeRoleWithWebIdentityResult":{}}}`, ""}, 0, provider.Transient, "malformed_response", "no Credentials"},
		{"empty session token", reply{200, "text/xml", strings.Replace(xmlOK, "TOKENXML", "", 1), iso(time.Hour)}, 0, provider.Transient, "malformed_response", "no SessionToken"},
		{"truncated xml", reply{200, "text/xml", `<AssumeRoleWithWebIdentityResponse><AssumeRole`, ""}, 0, provider.Transient, "malformed_response", "neither JSON nor"},
		{"html", reply{200, "text/html", `<html>oops</html>`, ""}, 0, provider.Transient, "malformed_response", "neither JSON nor"},
		{"xml AccessDenied", reply{403, "text/xml", xmlErr("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"), ""}, 0, provider.Permanent, "AccessDenied", "Not authorized"},
		{"json AccessDenied", reply{403, "application/json", jsonErr("AccessDenied", "Not authorized"), ""}, 0, provider.Permanent, "AccessDenied", "Not authorized"},
		{"IDPRejectedClaim", reply{403, "text/xml", xmlErr("IDPRejectedClaim", "rejected"), ""}, 0, provider.Permanent, "IDPRejectedClaim", "rejected"},
		{"ValidationError", reply{400, "text/xml", xmlErr("ValidationError", "1 validation error"), ""}, 0, provider.Permanent, "ValidationError", "validation"},
		{"RegionDisabled", reply{403, "application/json", jsonErr("RegionDisabledException", "STS is not activated in this region"), ""}, 0, provider.Permanent, "RegionDisabledException", ""},
		{"IDPCommunicationError", reply{400, "text/xml", xmlErr("IDPCommunicationError", "could not reach"), ""}, 0, provider.Transient, "IDPCommunicationError", ""},
		{"Throttling at 400", reply{400, "text/xml", xmlErr("Throttling", "Rate exceeded"), ""}, 0, provider.Transient, "Throttling", "Rate exceeded"},
		{"503 html", reply{503, "text/html", `<html>down</html>`, ""}, 0, provider.Transient, "Service Unavailable", "[redacted; not an STS error response]"},
		{"echoed token redacted", reply{400, "application/json", jsonErr("ValidationError", "bad token "+placeholderJWT), ""}, 0, provider.Permanent, "ValidationError", "bad token [redacted]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := answer(t, c.r)
			tok, err := p.Exchange(context.Background(), fixedSubject{placeholderJWT})
			if c.lifetime != 0 {
				if err != nil {
					t.Fatal(err)
				}
				if d := c.lifetime - tok.Lifetime; d < 0 || d > 5*time.Second {
					t.Errorf("lifetime %v, want %v", tok.Lifetime, c.lifetime)
				}
				if tok.AWS == nil || tok.AWS.AccessKeyID == "" || tok.AWS.SessionToken.IsZero() || tok.RequestID != "req-canned" {
					t.Errorf("token %+v", tok)
				}
				return
			}
			pe, ok := provider.AsError(err)
			if !ok {
				t.Fatalf("err = %v, want *provider.Error", err)
			}
			if pe.Kind != c.kind || pe.Code != c.code || !strings.Contains(err.Error(), c.inText) || pe.RequestID != "req-canned" {
				t.Errorf("got kind=%v code=%q id=%q text=%q", pe.Kind, pe.Code, pe.RequestID, err.Error())
			}
			for _, s := range []string{placeholderJWT, "SECRETXML", "TOKENXML", "SECRETJSON", "TOKENJSON"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks %q: %s", s, err)
				}
			}
		})
	}
}

func TestExpiredTokenRemintsOnce(t *testing.T) {
	expired := reply{400, "text/xml", `<ErrorResponse><Error><Code>ExpiredTokenException</Code><Message>Token expired</Message></Error></ErrorResponse>`, ""}
	ok := reply{200, "text/xml", xmlOK, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	p, n := answer(t, expired, ok)
	if _, err := p.Exchange(context.Background(), fixedSubject{placeholderJWT}); err != nil || n.Load() != 2 {
		t.Fatalf("expired then ok: %v after %d requests", err, n.Load())
	}
	p, n = answer(t, expired)
	_, err := p.Exchange(context.Background(), fixedSubject{placeholderJWT})
	if pe, ok := provider.AsError(err); !ok || pe.Code != "ExpiredTokenException" || pe.Kind != provider.Transient || n.Load() != 2 {
		t.Fatalf("expired twice: %v after %d requests", err, n.Load())
	}
}

func TestInvalidIdentityTokenTurnsPermanent(t *testing.T) {
	e := newEnv(t, nil)
	e.sts.Fail(fake.STSFaultInvalidIdentityToken, -1)
	for i := 1; i <= invalidTokenTries+1; i++ {
		_, err := e.prov.Exchange(context.Background(), e.subj)
		pe, ok := provider.AsError(err)
		if !ok || pe.Code != "InvalidIdentityToken" {
			t.Fatalf("try %d: %v", i, err)
		}
		if want := i > invalidTokenTries; pe.Permanent() != want {
			t.Errorf("try %d: permanent = %v, want %v", i, pe.Permanent(), want)
		}
	}
	e.sts.Reset()
	if _, err := e.prov.Exchange(context.Background(), e.subj); err != nil {
		t.Fatal(err)
	}
	e.sts.Fail(fake.STSFaultInvalidIdentityToken, 1)
	if _, err := e.prov.Exchange(context.Background(), e.subj); provider.IsPermanent(err) {
		t.Errorf("the streak did not reset after a success: %v", err)
	}
}

func TestFaultsFromTheFake(t *testing.T) {
	e := newEnv(t, nil)
	e.sts.Fail(fake.STSFault500, 2)
	if _, err := e.prov.Exchange(context.Background(), e.subj); err != nil {
		t.Fatalf("two 500s then success: %v", err)
	}
	cases := []struct {
		f    fake.STSFault
		kind provider.Kind
		code string
	}{
		{fake.STSFault429, provider.Transient, "Throttling"},
		{fake.STSFaultThrottle400, provider.Transient, "Throttling"},
		{fake.STSFaultAccessDenied, provider.Permanent, "AccessDenied"},
		{fake.STSFaultMalformed, provider.Transient, "malformed_response"},
		{fake.STSFaultNoCredentials, provider.Transient, "malformed_response"},
		{fake.STSFaultExpired, provider.Transient, "malformed_response"},
	}
	var texts []string
	for _, c := range cases {
		e.sts.Fail(c.f, -1)
		_, err := e.prov.Exchange(context.Background(), e.subj)
		pe, ok := provider.AsError(err)
		if !ok || pe.Kind != c.kind || pe.Code != c.code {
			t.Errorf("fault %d: %v", c.f, err)
			continue
		}
		if c.f == fake.STSFault429 && pe.RetryAfter != time.Second {
			t.Errorf("429: Retry-After %v", pe.RetryAfter)
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, pe))
	}
	e.sts.Reset()
	secrets := append(e.gh.Issued(), e.sts.Secrets()...)
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("error text leaks a secret: %s", text)
			}
		}
	}
}
