package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/aws"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
	"github.com/awf-broker/awf-broker/broker/secret"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
)

// colonModel is a Bedrock model id whose ":" the SDK escapes as %3A on
// the wire and SigV4 escapes once more (%253A).
const colonModel = "anthropic.claude-3-5-sonnet-20240620-v1:0"

// bedrockSDK returns the real Bedrock Runtime client aimed at endpoint with
// creds, retrying nothing.
func bedrockSDK(endpoint string, creds sdkaws.Credentials) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:           devenv.AWSRegion,
		BaseEndpoint:     sdkaws.String(endpoint),
		Credentials:      sdkaws.CredentialsProviderFunc(func(context.Context) (sdkaws.Credentials, error) { return creds, nil }),
		RetryMaxAttempts: 1,
	})
}

// dummyCreds are what an agent container holds: nothing real, made at
// run time so that no key-shaped value is in the tree. The forwarder
// strips the signature they make.
func dummyCreds() sdkaws.Credentials {
	return sdkaws.Credentials{AccessKeyID: "ASIA" + strings.ToUpper(rand.Text()[:16]), SecretAccessKey: rand.Text(), SessionToken: rand.Text()}
}

// startBedrockForwarder runs the real forwarder for the "bedrock"
// credential in front of the fake Bedrock, and returns the SDK aimed at it.
func startBedrockForwarder(t *testing.T, b *broker) *bedrockruntime.Client {
	t.Helper()
	up, _ := url.Parse(b.dev.AWS.Bedrock.URL())
	c := client.New(b.sock)
	f, err := forward.New(forward.Config{Client: c, Credential: "bedrock", Upstream: up, Label: "e2e-bedrock", MaxWait: 5 * time.Second, Provider: forward.ProviderAWS})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); f.Close(); cancel(); c.Close() })
	return bedrockSDK(srv.URL, dummyCreds())
}

func converseInput(model string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: sdkaws.String(model),
		Messages: []brtypes.Message{{
			Role:    brtypes.ConversationRoleUser,
			Content: []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: "hi"}},
		}},
	}
}

func converseText(t *testing.T, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	msg, ok := out.Output.(*brtypes.ConverseOutputMemberMessage)
	if !ok || len(msg.Value.Content) == 0 {
		t.Fatalf("converse output = %#v", out.Output)
	}
	txt, ok := msg.Value.Content[0].(*brtypes.ContentBlockMemberText)
	if !ok {
		t.Fatalf("content = %#v", msg.Value.Content[0])
	}
	return txt.Value
}

// TestBedrockSDKThroughForwarder: the real AWS SDK as the agent, with
// dummy keys, through the real forwarder and broker to the fake Bedrock,
// which accepts only a signature from current STS credentials. Converse
// and InvokeModel work for a model id with a colon, ConverseStream and
// InvokeModelWithResponseStream stream, and after the old credentials
// expire and a refresh brings new ones, requests still succeed.
func TestBedrockSDKThroughForwarder(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	sdk := startBedrockForwarder(t, b)
	br := b.dev.AWS.Bedrock
	ctx := context.Background()

	out, err := sdk.Converse(ctx, converseInput(colonModel))
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	if got := converseText(t, out); got != fake.BedrockReply {
		t.Errorf("Converse text = %q", got)
	}

	inv, err := sdk.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: sdkaws.String(colonModel), ContentType: sdkaws.String("application/json"), Accept: sdkaws.String("application/json"),
		Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`),
	})
	if err != nil {
		t.Fatalf("InvokeModel: %v", err)
	}
	if !strings.Contains(string(inv.Body), fake.BedrockReply) {
		t.Errorf("InvokeModel body = %s", inv.Body)
	}

	// The fake holds the stream after its first event: that event must
	// reach the SDK through the forwarder before the rest is even sent.
	release := br.HoldStreams()
	defer release()
	st, err := sdk.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: sdkaws.String(colonModel), Messages: converseInput("").Messages})
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	var text strings.Builder
	var kinds []string
	select {
	case ev := <-st.GetStream().Events():
		if _, ok := ev.(*brtypes.ConverseStreamOutputMemberMessageStart); !ok {
			t.Fatalf("first event %T", ev)
		}
		kinds = append(kinds, "start")
	case <-time.After(10 * time.Second):
		t.Fatal("the first event did not arrive while the stream was held: something buffers")
	}
	release()
	for ev := range st.GetStream().Events() {
		switch v := ev.(type) {
		case *brtypes.ConverseStreamOutputMemberMessageStart:
			kinds = append(kinds, "start")
		case *brtypes.ConverseStreamOutputMemberContentBlockDelta:
			kinds = append(kinds, "delta")
			if d, ok := v.Value.Delta.(*brtypes.ContentBlockDeltaMemberText); ok {
				text.WriteString(d.Value)
			}
		case *brtypes.ConverseStreamOutputMemberMessageStop:
			kinds = append(kinds, "stop")
		case *brtypes.ConverseStreamOutputMemberMetadata:
			kinds = append(kinds, "metadata")
		}
	}
	if err := st.GetStream().Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	st.GetStream().Close()
	if text.String() != fake.BedrockReply || strings.Count(strings.Join(kinds, ","), "delta") < 3 || kinds[0] != "start" || kinds[len(kinds)-1] != "metadata" {
		t.Errorf("streamed %q as %v", text.String(), kinds)
	}

	ist, err := sdk.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: sdkaws.String(colonModel), ContentType: sdkaws.String("application/json"),
		Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`),
	})
	if err != nil {
		t.Fatalf("InvokeModelWithResponseStream: %v", err)
	}
	var chunks []string
	for ev := range ist.GetStream().Events() {
		if c, ok := ev.(*brtypes.ResponseStreamMemberChunk); ok {
			chunks = append(chunks, string(c.Value.Bytes))
		}
	}
	err = ist.GetStream().Err()
	ist.GetStream().Close()
	if err != nil || len(chunks) < 3 || !strings.Contains(strings.Join(chunks, ""), fake.BedrockReply) {
		t.Errorf("invoke stream: %v, %d chunks: %q", err, len(chunks), chunks)
	}

	// Expire every credential STS has issued: Bedrock answers 403
	// ExpiredTokenException, which the forwarder handles like a 401 — it
	// invalidates (the broker assumes the role again) and replays once.
	before := b.dev.AWS.STS.Exchanges()
	b.dev.AWS.STS.ExpireAll()
	out, err = sdk.Converse(ctx, converseInput(colonModel))
	if err != nil {
		t.Fatalf("Converse with expired credentials, replayed by the forwarder: %v", err)
	}
	if b.dev.AWS.STS.Exchanges() != before+1 {
		t.Fatalf("the invalidate did not assume the role again (%d → %d)", before, b.dev.AWS.STS.Exchanges())
	}
	if got := converseText(t, out); got != fake.BedrockReply {
		t.Errorf("Converse text after the replay = %q", got)
	}

	if n := br.Served(); n != 5 {
		t.Errorf("the fake served %d requests, want 5", n)
	}
	if n := br.Refused("ExpiredTokenException"); n != 1 || br.Refused("") != 1 {
		t.Errorf("refusals: %d expired, %d in all; want only the one with expired credentials", n, br.Refused(""))
	}
	for _, m := range br.Models() {
		if m != colonModel {
			t.Errorf("the fake saw model %q", m)
		}
	}
}

// TestBedrockFakeAgreesWithTheSDK: the fake accepts the real SDK's own
// signature when the SDK holds credentials STS issued (so its re-signing,
// double encoding included, matches the SDK's), and refuses the same SDK
// with dummy keys.
func TestBedrockFakeAgreesWithTheSDK(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	p, err := aws.New(aws.Config{AWS: settings.AWS{RoleARN: devenv.AWSRoleARN, Region: devenv.AWSRegion, TokenURL: b.dev.AWS.STS.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Exchange(ctx, ghSubject{b.dev.GitHub})
	if err != nil {
		t.Fatal(err)
	}
	real := sdkaws.Credentials{AccessKeyID: tok.AWS.AccessKeyID, SecretAccessKey: tok.AWS.SecretAccessKey.Reveal(), SessionToken: tok.AWS.SessionToken.Reveal()}
	if _, err := bedrockSDK(b.dev.AWS.Bedrock.URL(), real).Converse(ctx, converseInput(colonModel)); err != nil {
		t.Fatalf("the fake refused the SDK's own signature: %v", err)
	}
	_, err = bedrockSDK(b.dev.AWS.Bedrock.URL(), dummyCreds()).Converse(ctx, converseInput(colonModel))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("dummy keys straight to the fake: %v", err)
	}
}

// ghSubject mints JWTs from the fake GitHub directly.
type ghSubject struct{ gh *fake.GitHub }

func (s ghSubject) Mint(_ context.Context, aud string) (secret.Value, error) {
	return secret.New(s.gh.MintJWT(aud)), nil
}

var _ provider.Subject = ghSubject{}

// TestBedrockScope: an AWS lease gets no signature for another region's
// Bedrock host nor for any STS host — refused by the lease's scope, and,
// when an operator widened the credential's hosts to all of AWS, by the
// provider itself — and every aws header request must carry the body hash.
func TestBedrockScope(t *testing.T) {
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		for i := range d.Config.Credentials {
			if d.Config.Credentials[i].Name == "wide" {
				t.Fatal("dev config already has a credential named wide")
			}
		}
		wide, _ := d.Config.Credential("bedrock")
		w := *wide
		w.Name = "wide"
		w.Hosts = []string{"*.amazonaws.com", "*.api.aws", "*.amazonaws.com.cn"}
		d.Config.Credentials = append(d.Config.Credentials, w)
	}})
	ctx := context.Background()
	sum := sha256.Sum256([]byte(`{}`))
	hash := hex.EncodeToString(sum[:])
	headers := func(cred, rawURL, bodySHA string) (*api.HeadersResponse, error) {
		t.Helper()
		l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: cred})
		if err != nil {
			t.Fatal(err)
		}
		if !l.NeedsBodySHA256 {
			t.Errorf("lease of %s does not say needs_body_sha256", cred)
		}
		return b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: rawURL, BodySHA256: bodySHA})
	}
	cases := []struct {
		cred, url, sum string
		code           string // "" = granted
		inDetail       string
	}{
		{"bedrock", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", hash, "", ""},
		{"bedrock", "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/converse", hash, api.CodeScopeViolation, "outside the lease's scope"},
		{"bedrock", "https://sts.us-east-1.amazonaws.com/", hash, api.CodeScopeViolation, "outside the lease's scope"},
		{"bedrock", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", "", api.CodeBadRequest, "body_sha256"},
		{"wide", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", hash, "", ""},
		{"wide", "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/converse", hash, api.CodeScopeViolation, `in region "us-west-2"`},
		{"wide", "https://bedrock-runtime.eu-west-1.api.aws/model/m/converse", hash, api.CodeScopeViolation, `in region "eu-west-1"`},
		{"wide", "https://sts.us-east-1.amazonaws.com/", hash, api.CodeScopeViolation, "STS endpoint"},
		{"wide", "https://sts.amazonaws.com/", hash, api.CodeScopeViolation, "STS endpoint"},
		{"wide", "https://sts.cn-north-1.amazonaws.com.cn/", hash, api.CodeScopeViolation, "STS endpoint"},
		{"wide", "https://iam.amazonaws.com/", hash, api.CodeScopeViolation, "not a Bedrock Runtime endpoint"},
	}
	// A lease cannot even ask for an STS or another region's host.
	for _, h := range []string{"sts.us-east-1.amazonaws.com", "bedrock-runtime.us-west-2.amazonaws.com"} {
		_, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "bedrock", Hosts: []string{h}})
		if !client.IsCode(err, api.CodeScopeViolation) {
			t.Errorf("lease for %s: %v, want scope_violation", h, err)
		}
	}
	for _, c := range cases {
		h, err := headers(c.cred, c.url, c.sum)
		if c.code == "" {
			if err != nil || !strings.Contains(h.Set["authorization"], "/us-east-1/bedrock/aws4_request") {
				t.Errorf("%s %s: %v %v", c.cred, c.url, err, h)
			}
			continue
		}
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Code != c.code || !strings.Contains(ce.Detail, c.inDetail) {
			t.Errorf("%s %s: %v, want %s containing %q", c.cred, c.url, err, c.code, c.inDetail)
			continue
		}
		if c.code == api.CodeScopeViolation && ce.Status != http.StatusForbidden {
			t.Errorf("%s %s: status %d", c.cred, c.url, ce.Status)
		}
	}
}

// TestNoAWSSecretLeaks runs the aws flows, STS failures included, at trace
// level and checks that no JWT, secret key or session token appears in a
// log line, an error or an answer other than the header grant itself.
func TestNoAWSSecretLeaks(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	sdk := startBedrockForwarder(t, b)
	ctx := context.Background()
	var seen []string
	record := func(v any, err error) {
		if err != nil {
			seen = append(seen, err.Error())
		}
		if v != nil {
			j, _ := json.Marshal(v)
			seen = append(seen, string(j))
		}
	}
	if _, err := sdk.Converse(ctx, converseInput(colonModel)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []fake.STSFault{fake.STSFaultAccessDenied, fake.STSFaultInvalidIdentityToken, fake.STSFaultMalformed,
		fake.STSFaultNoCredentials, fake.STSFaultExpired, fake.STSFault500, fake.STSFaultThrottle400} {
		b.dev.AWS.STS.Fail(f, -1)
		record(b.client.Refresh(ctx, "bedrock"))
		record(b.client.Credential(ctx, "bedrock"))
	}
	b.dev.AWS.STS.Reset()
	record(b.client.Refresh(ctx, "bedrock"))
	_, err := sdk.Converse(ctx, converseInput(colonModel))
	record(nil, err)
	b.dev.AWS.STS.ExpireAll()
	_, err = sdk.Converse(ctx, converseInput(colonModel)) // refused upstream: expired
	record(nil, err)
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "bedrock"})
	if err != nil {
		t.Fatal(err)
	}
	record(l.Lease, nil)
	record(b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://sts.us-east-1.amazonaws.com/"}))
	record(b.client.Credentials(ctx))
	record(b.client.Leases(ctx))

	secrets := append(b.dev.AWS.STS.Secrets(), b.dev.GitHub.Issued()...)
	secrets = append(secrets, l.Secret)
	if len(b.dev.AWS.STS.Secrets()) < 4 {
		t.Fatalf("the flows issued too little to check")
	}
	seen = append(seen, b.logs.String())
	for _, text := range seen {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("a secret (%d chars, starting %.4s…) leaked into: %.300s", len(s), s, text)
			}
		}
		if strings.Contains(text, "eyJ") || strings.Contains(text, "FQoGZXIvYXdzE") {
			t.Fatalf("something token-shaped leaked into: %.300s", text)
		}
	}
}

// TestBedrockBadSTSAnswersKeepTheCredential: STS answers without
// Credentials, with an Expiration in the past, or malformed, each leave a
// clear error on the credential while the previous valid credentials keep
// signing. (A refusal, AccessDenied, fails closed instead:
// TestPermanentRefusalWhileValidFailsClosed.)
func TestBedrockBadSTSAnswersKeepTheCredential(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	sdk := startBedrockForwarder(t, b)
	ctx := context.Background()
	cases := []struct {
		f      fake.STSFault
		inText string
	}{
		{fake.STSFaultNoCredentials, "no Credentials"},
		{fake.STSFaultExpired, "is not in the future"},
		{fake.STSFaultMalformed, "neither JSON nor"},
	}
	for _, c := range cases {
		b.dev.AWS.STS.Fail(c.f, -1)
		st, err := b.client.Refresh(ctx, "bedrock")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(st.LastError, c.inText) {
			t.Errorf("fault %d: last_error %q, want it to contain %q", c.f, st.LastError, c.inText)
		}
		if _, err := sdk.Converse(ctx, converseInput(colonModel)); err != nil {
			t.Errorf("fault %d (state %s): the previous credentials stopped signing: %v", c.f, st.State, err)
		}
	}
	b.dev.AWS.STS.Reset()
}

// TestBedrockStreamException: an in-stream exception frame reaches the
// SDK through the forwarder as the typed error, after the events before it.
func TestBedrockStreamException(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	sdk := startBedrockForwarder(t, b)
	b.dev.AWS.Bedrock.FailNextStream(2, "throttlingException")
	st, err := sdk.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: sdkaws.String(colonModel), Messages: converseInput("").Messages})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range st.GetStream().Events() {
		n++
	}
	err = st.GetStream().Err()
	st.GetStream().Close()
	var te *brtypes.ThrottlingException
	if n != 2 || !errors.As(err, &te) {
		t.Fatalf("%d events, then %v (%T); want 2 then a ThrottlingException", n, err, err)
	}
}
