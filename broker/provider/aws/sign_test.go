package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// send applies the grant to a real request to the fake Bedrock.
func send(t *testing.T, rawURL string, body []byte, g provider.Grant) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range g.Set {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype")
}

// TestSignedRequestsPassTheFake: the broker's signature, applied to the
// request as the forwarder sends it, passes the fake's re-signing for a
// model id with a colon, and fails once the body changes or the
// credentials expire.
func TestSignedRequestsPassTheFake(t *testing.T) {
	e := newEnv(t, nil)
	tok, err := e.prov.Exchange(context.Background(), e.subj)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	raw := e.bedrock.URL() + "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
	u, _ := url.Parse(raw)
	req := &provider.Request{Method: "POST", URL: u, Headers: map[string]string{"content-type": "application/json", "accept": "application/json"}, BodySHA256: sha(body)}
	g, err := e.prov.Headers(&tok, req)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range g.Set {
		names = append(names, k)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "authorization,x-amz-content-sha256,x-amz-date,x-amz-security-token" || len(g.Remove) != 0 {
		t.Fatalf("set %v remove %v", names, g.Remove)
	}
	a := g.Set["authorization"]
	if !strings.Contains(a, "Credential="+tok.AWS.AccessKeyID+"/") || !strings.Contains(a, "/us-east-1/bedrock/aws4_request") ||
		!strings.Contains(a, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") {
		t.Errorf("authorization = %s", a)
	}
	if g.Set["x-amz-security-token"] != tok.AWS.SessionToken.Reveal() || g.Set["x-amz-content-sha256"] != sha(body) {
		t.Error("security token or content hash not the expected ones")
	}
	if status, typ := send(t, raw, body, g); status != 200 {
		t.Fatalf("signed request refused: %d %s", status, typ)
	}
	if m := e.bedrock.Models(); len(m) != 1 || m[0] != "anthropic.claude-3-5-sonnet-20240620-v1:0" {
		t.Errorf("models = %q", m)
	}
	if status, typ := send(t, raw, []byte(`{"messages":[]}`), g); status != 403 || !strings.HasPrefix(typ, "InvalidSignatureException") {
		t.Errorf("altered body: %d %s", status, typ)
	}
	// Credentials from before a refresh stop working once they expire.
	e.sts.ExpireAll()
	if status, typ := send(t, raw, body, g); status != 403 || !strings.HasPrefix(typ, "ExpiredTokenException") {
		t.Errorf("expired credentials: %d %s", status, typ)
	}
	fresh, err := e.prov.Exchange(context.Background(), e.subj)
	if err != nil {
		t.Fatal(err)
	}
	g, err = e.prov.Headers(&fresh, req)
	if err != nil {
		t.Fatal(err)
	}
	if status, typ := send(t, raw, body, g); status != 200 {
		t.Fatalf("after refresh: %d %s", status, typ)
	}
}

func TestHeadersRefusals(t *testing.T) {
	p, err := New(Config{AWS: settings.AWS{RoleARN: roleARN, Region: region}, Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	tok := &provider.Token{AWS: &provider.AWSCredentials{AccessKeyID: "ASIAX", SecretAccessKey: secret.New("s"), SessionToken: secret.New("t")}}
	empty := sha(nil)
	cases := []struct {
		host  string
		sum   string
		scope bool // refused as out of scope
		bad   bool // refused as malformed
	}{
		{"bedrock-runtime.us-east-1.amazonaws.com", empty, false, false},
		{"BEDROCK-RUNTIME.us-east-1.amazonaws.com", empty, false, false},
		{"bedrock-runtime-fips.us-east-1.amazonaws.com", empty, false, false},
		{"bedrock-runtime.us-east-1.api.aws", empty, false, false},
		{"vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com", empty, false, false},
		{"127.0.0.1:8080", empty, false, false},
		{"bedrock-runtime.us-west-2.amazonaws.com", empty, true, false},
		{"bedrock-runtime-fips.us-gov-west-1.amazonaws.com", empty, true, false},
		{"bedrock-runtime.cn-north-1.amazonaws.com.cn", empty, true, false},
		{"sts.us-east-1.amazonaws.com", empty, true, false},
		{"sts.amazonaws.com", empty, true, false},
		{"sts-fips.us-east-1.amazonaws.com", empty, true, false},
		{"sts.us-east-1.api.aws", empty, true, false},
		{"vpce-0abc.sts.us-east-1.vpce.amazonaws.com", empty, true, false},
		{"s3.amazonaws.com", empty, true, false},
		{"bedrock-runtime.amazonaws.com", empty, true, false},
		{"bedrock-runtime.us-east-1.amazonaws.com", "", false, true},
		{"bedrock-runtime.us-east-1.amazonaws.com", "UNSIGNED-PAYLOAD", false, true},
		{"bedrock-runtime.us-east-1.amazonaws.com", strings.ToUpper(empty)[:63], false, true},
	}
	for _, c := range cases {
		u := &url.URL{Scheme: "https", Host: c.host, Path: "/model/m/invoke"}
		g, err := p.Headers(tok, &provider.Request{Method: "POST", URL: u, BodySHA256: c.sum})
		var re *provider.RefusalError
		refused := errors.As(err, &re)
		switch {
		case !c.scope && !c.bad:
			if err != nil || !strings.HasPrefix(g.Set["authorization"], "AWS4-HMAC-SHA256 Credential=ASIAX/20261128/us-east-1/bedrock/aws4_request") {
				t.Errorf("%s: %v %v", c.host, err, g.Set)
			}
			if g.Set["x-amz-date"] != "20261128T120000Z" {
				t.Errorf("%s: x-amz-date %q", c.host, g.Set["x-amz-date"])
			}
		case !refused || re.Scope != c.scope:
			t.Errorf("%s sum %q: err = %v, want a refusal (scope %v)", c.host, c.sum, err, c.scope)
		}
	}
	if _, err := p.Headers(&provider.Token{}, &provider.Request{Method: "POST", URL: &url.URL{Scheme: "https", Host: "bedrock-runtime.us-east-1.amazonaws.com"}, BodySHA256: empty}); err == nil {
		t.Error("signed without credentials")
	}
}

// TestDoubleEncodedPath pins the canonical URI: a wire path with %3A
// signs as %253A (each segment escaped twice), which is what a signer
// told not to escape produces for a path written %253A.
func TestDoubleEncodedPath(t *testing.T) {
	when := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	p, _ := New(Config{AWS: settings.AWS{RoleARN: roleARN, Region: region}, Now: func() time.Time { return when }})
	tok := &provider.Token{AWS: &provider.AWSCredentials{AccessKeyID: "ASIAX", SecretAccessKey: secret.New("s"), SessionToken: secret.New("t")}}
	host := "bedrock-runtime.us-east-1.amazonaws.com"
	u, _ := url.Parse("https://" + host + "/model/x-v1%3A0/invoke")
	g, err := p.Headers(tok, &provider.Request{Method: "POST", URL: u, BodySHA256: sha(nil)})
	if err != nil {
		t.Fatal(err)
	}
	signAs := func(canonicalPath string) string {
		r, _ := http.NewRequest("POST", "https://"+host+"/", nil)
		r.URL.Opaque = "//" + host + canonicalPath
		r.Header.Set("X-Amz-Content-Sha256", sha(nil))
		creds := sdkaws.Credentials{AccessKeyID: "ASIAX", SecretAccessKey: "s", SessionToken: "t"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha(nil), "bedrock", region, when, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			t.Fatal(err)
		}
		return r.Header.Get("Authorization")
	}
	if got, want := g.Set["authorization"], signAs("/model/x-v1%253A0/invoke"); got != want {
		t.Errorf("authorization = %s\nwant (double-encoded) %s", got, want)
	}
	if g.Set["authorization"] == signAs("/model/x-v1%3A0/invoke") {
		t.Error("signed with single encoding")
	}
}

// BenchmarkHeaders measures one SigV4 grant (the per-request cost the
// broker adds for aws credentials).
func BenchmarkHeaders(b *testing.B) {
	p, err := New(Config{AWS: settings.AWS{RoleARN: roleARN, Region: region}})
	if err != nil {
		b.Fatal(err)
	}
	tok := &provider.Token{AWS: &provider.AWSCredentials{AccessKeyID: "ASIAX", SecretAccessKey: secret.New("s"), SessionToken: secret.New(strings.Repeat("t", 800))}}
	u, _ := url.Parse("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse")
	req := &provider.Request{Method: "POST", URL: u, Headers: map[string]string{"content-type": "application/json"}, BodySHA256: sha([]byte("{}"))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Headers(tok, req); err != nil {
			b.Fatal(err)
		}
	}
}
