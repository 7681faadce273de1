package aws

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// The AWS Signature Version 4 test suite's inputs: its documented dummy
// key pair (not a secret), its date and scope, and its session token
// (get-vanilla-with-session-token). The suite was published in the AWS
// General Reference ("Signature Version 4 test suite") and is carried on
// by awslabs/aws-c-auth under tests/aws-signing-test-suite/v4.
const (
	suiteAKID    = "AKIDEXAMPLE"
	suiteSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteToken   = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
	suiteAmzDate = "20150830T123600Z"
	suiteRegion  = "us-east-1"
	emptySHA256  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	formSHA256   = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e" // "Param1=value1"
)

var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

// oracle is SigV4's last three steps written from the AWS documentation,
// independent of the SDK: the string to sign of a canonical request, and
// its signature under the HMAC-SHA256 key chain AWS4+secret → date →
// region → service → aws4_request.
func oracle(creq, service string) (stringToSign, signature string) {
	sum := sha256.Sum256([]byte(creq))
	scope := suiteAmzDate[:8] + "/" + suiteRegion + "/" + service + "/aws4_request"
	stringToSign = "AWS4-HMAC-SHA256\n" + suiteAmzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + suiteSecret)
	for _, part := range []string{suiteAmzDate[:8], suiteRegion, service, "aws4_request", stringToSign} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	return stringToSign, hex.EncodeToString(key)
}

// TestSigV4OracleAgainstSuite anchors the oracle on the suite's published
// answers: from each published canonical request it derives the published
// string to sign and signature.
func TestSigV4OracleAgainstSuite(t *testing.T) {
	cases := []struct {
		name, creq, stsHash, signature string
	}{
		{"get-vanilla", "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptySHA256,
			"bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptySHA256,
			"816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"get-utf8", "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptySHA256,
			"2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
		{"get-slashes-unnormalized", "GET\n//example//\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptySHA256,
			"528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240", "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
		{"post-x-www-form-urlencoded", "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n" +
			"x-amz-content-sha256:" + formSHA256 + "\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n" + formSHA256,
			"b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb", "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
		{"get-vanilla-with-session-token", "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:" + suiteToken +
			"\n\nhost;x-amz-date;x-amz-security-token\n" + emptySHA256,
			"067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b", "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
	}
	for _, c := range cases {
		sts, sig := oracle(c.creq, "service")
		if !strings.HasSuffix(sts, "\n"+c.stsHash) {
			t.Errorf("%s: string to sign %q, want it to end in the published %s", c.name, sts, c.stsHash)
		}
		if sig != c.signature {
			t.Errorf("%s: oracle signature %s, want the published %s", c.name, sig, c.signature)
		}
	}
}

// TestSignerKnownAnswers: the signer as the broker calls it (sign, the one
// call Headers makes) yields the suite's published Authorization for the
// suite's requests, service "service".
func TestSignerKnownAnswers(t *testing.T) {
	const scope = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	cases := []struct {
		name, method, url, token string
		headers                  http.Header
		want                     string
	}{
		{"get-vanilla", "GET", "https://example.amazonaws.com/", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"get-vanilla-query-order-encoded", "GET", "https://example.amazonaws.com/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
		{"get-vanilla-utf8-query", "GET", "https://example.amazonaws.com/?%E1%88%B4=bar", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
		{"get-unreserved", "GET", "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
		{"get-slashes-unnormalized", "GET", "https://example.amazonaws.com//example//", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
		{"post-vanilla-query", "POST", "https://example.amazonaws.com/?Param1=value1", "", nil,
			"SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
		{"post-header-value-case", "POST", "https://example.amazonaws.com/", "", http.Header{"My-Header1": {"VALUE1"}},
			"SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
		{"get-vanilla-with-session-token", "GET", "https://example.amazonaws.com/", suiteToken, nil,
			"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
	}
	creds := sdkaws.Credentials{AccessKeyID: suiteAKID, SecretAccessKey: suiteSecret}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		cr := creds
		cr.SessionToken = c.token
		h, err := sign(v4.NewSigner(), cr, c.method, u, c.headers, emptySHA256, "service", suiteRegion, suiteTime)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := h.Get("Authorization"); got != scope+c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, scope+c.want)
		}
		if got := h.Get("X-Amz-Date"); got != suiteAmzDate {
			t.Errorf("%s: x-amz-date %q, want %q", c.name, got, suiteAmzDate)
		}
	}
}

// TestHeadersAgainstOracle: Provider.Headers as the broker serves it
// (service bedrock, a session token, the body hash signed) for requests
// whose canonical form the test writes out from the AWS rules: every
// path segment URI-encoded twice (get-utf8's path, a Bedrock model id
// with ':', a space), the body covered by its hash (the suite's form
// body), content-type signed when the client sent one. The oracle, anchored
// on the published answers above, signs each canonical request; the
// broker's Authorization must be exactly that.
func TestHeadersAgainstOracle(t *testing.T) {
	const host = "bedrock-runtime.us-east-1.amazonaws.com"
	jsonSHA := sha256.Sum256([]byte(`{}`))
	jsonSum := hex.EncodeToString(jsonSHA[:])
	cases := []struct {
		name, method, url, contentType, sum string
		creq                                string
	}{
		{"get-utf8 path, encoded twice", "GET", "https://" + host + "/%E1%88%B4", "", emptySHA256,
			"GET\n/%25E1%2588%25B4\n\nhost:" + host + "\nx-amz-content-sha256:" + emptySHA256 + "\nx-amz-date:20150830T123600Z\nx-amz-security-token:" + suiteToken +
				"\n\nhost;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" + emptySHA256},
		{"Bedrock model id with ':', encoded twice", "POST", "https://" + host + "/model/anthropic.claude-v2%3A1/invoke", "application/json", jsonSum,
			"POST\n/model/anthropic.claude-v2%253A1/invoke\n\ncontent-type:application/json\nhost:" + host + "\nx-amz-content-sha256:" + jsonSum +
				"\nx-amz-date:20150830T123600Z\nx-amz-security-token:" + suiteToken +
				"\n\ncontent-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" + jsonSum},
		{"a space, encoded twice", "GET", "https://" + host + "/example%20space/", "", emptySHA256,
			"GET\n/example%2520space/\n\nhost:" + host + "\nx-amz-content-sha256:" + emptySHA256 + "\nx-amz-date:20150830T123600Z\nx-amz-security-token:" + suiteToken +
				"\n\nhost;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" + emptySHA256},
		{"post-x-www-form-urlencoded body", "POST", "https://" + host + "/", "application/x-www-form-urlencoded", formSHA256,
			"POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:" + host + "\nx-amz-content-sha256:" + formSHA256 +
				"\nx-amz-date:20150830T123600Z\nx-amz-security-token:" + suiteToken +
				"\n\ncontent-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" + formSHA256},
		{"query order", "GET", "https://" + host + "/?Param2=value2&Param1=value1", "", emptySHA256,
			"GET\n/\nParam1=value1&Param2=value2\nhost:" + host + "\nx-amz-content-sha256:" + emptySHA256 + "\nx-amz-date:20150830T123600Z\nx-amz-security-token:" + suiteToken +
				"\n\nhost;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" + emptySHA256},
	}
	p, err := New(Config{AWS: settings.AWS{RoleARN: "arn:aws:iam::123456789012:role/agent", Region: suiteRegion}, Now: func() time.Time { return suiteTime }})
	if err != nil {
		t.Fatal(err)
	}
	tok := &provider.Token{AWS: &provider.AWSCredentials{AccessKeyID: suiteAKID, SecretAccessKey: secret.New(suiteSecret), SessionToken: secret.New(suiteToken)}}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		req := &provider.Request{Method: c.method, URL: u, BodySHA256: c.sum, Headers: map[string]string{}}
		if c.contentType != "" {
			req.Headers["content-type"] = c.contentType
		}
		g, err := p.Headers(tok, req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		lines := strings.Split(c.creq, "\n")
		_, sig := oracle(c.creq, SigningName)
		want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=" +
			lines[len(lines)-2] + ", Signature=" + sig
		if got := g.Set["authorization"]; got != want {
			t.Errorf("%s:\n got %s\nwant %s (canonical request %q)", c.name, got, want, c.creq)
		}
	}
}
