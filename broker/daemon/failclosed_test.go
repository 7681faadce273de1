package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/apitest"
)

// bedrockURL is a Bedrock Runtime request inside the dev credential's hosts.
const bedrockURL = "https://bedrock-runtime." + devenv.AWSRegion + ".amazonaws.com/model/m/converse"

// warmCase is one provider's credential, a request in its scope, and how
// to make its upstream refuse for good.
type warmCase struct {
	name, cred, url, code string
	fail, reset           func(*devenv.Dev)
}

// warmCases: every provider, each with a refusal DESIGN §5 calls permanent.
func warmCases() []warmCase {
	return []warmCase{
		{"anthropic/invalid_grant", "anthropic", "", "invalid_grant",
			func(d *devenv.Dev) { d.Anthropic.Fail(fake.FaultInvalidGrant, -1) }, func(d *devenv.Dev) { d.Anthropic.Reset() }},
		{"anthropic/401", "anthropic", "", "authentication_error",
			func(d *devenv.Dev) { d.Anthropic.Fail(fake.FaultDeny401, -1) }, func(d *devenv.Dev) { d.Anthropic.Reset() }},
		{"aws/AccessDenied", "bedrock", bedrockURL, "AccessDenied",
			func(d *devenv.Dev) { d.AWS.STS.Fail(fake.STSFaultAccessDenied, -1) }, func(d *devenv.Dev) { d.AWS.STS.Reset() }},
		{"gcp/PERMISSION_DENIED", "vertex", vertexURL, "PERMISSION_DENIED",
			func(d *devenv.Dev) { d.Clouds.GCP.FailIAM(fake.FaultPermissionDenied, -1) }, func(d *devenv.Dev) { d.Clouds.GCP.Reset() }},
		{"gcp/invalid_target", "vertex", vertexURL, "invalid_target",
			func(d *devenv.Dev) { d.Clouds.GCP.FailSTS(fake.FaultInvalidTarget, -1) }, func(d *devenv.Dev) { d.Clouds.GCP.Reset() }},
		{"azure/invalid_client", "azure-openai", azureURL, "invalid_client",
			func(d *devenv.Dev) { d.Clouds.Azure.Fail(fake.FaultInvalidClient, -1) }, func(d *devenv.Dev) { d.Clouds.Azure.Reset() }},
		{"openai/invalid_grant", "openai", openaiURL, "invalid_grant",
			func(d *devenv.Dev) { d.Clouds.OpenAI.Fail(fake.FaultInvalidGrant, -1) }, func(d *devenv.Dev) { d.Clouds.OpenAI.Reset() }},
	}
}

// grantFor returns a function asking for headers for url on a new lease of cred.
func grantFor(t *testing.T, b *broker, cred, url string) func() (*api.HeadersResponse, error) {
	t.Helper()
	ctx := context.Background()
	if url == "" {
		url = "http://" + apiHost(b) + "/v1/messages"
	}
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	req := &api.HeadersRequest{Method: "POST", URL: url}
	if l.NeedsBodySHA256 {
		sum := sha256.Sum256([]byte(`{}`))
		req.BodySHA256 = hex.EncodeToString(sum[:])
	}
	return func() (*api.HeadersResponse, error) { return b.client.Headers(ctx, l.ID, l.Secret, req) }
}

// tokenOf is what identifies the token a grant carries: the bearer, or
// for SigV4 the access key id and session token.
func tokenOf(h *api.HeadersResponse) string {
	if h == nil {
		return ""
	}
	if sig := h.Set["authorization"]; strings.HasPrefix(sig, "AWS4-HMAC-SHA256") {
		cred, _, _ := strings.Cut(strings.TrimPrefix(sig, "AWS4-HMAC-SHA256 Credential="), "/")
		return cred + " " + h.Set["x-amz-security-token"]
	}
	return h.Set["authorization"]
}

// TestPermanentRefusalWhileValidFailsClosed: the warm case of DESIGN §5
// for every provider. A credential holds a valid token; its next refresh
// is refused for good; from then on the credential is failed, every
// header request gets 503 credential_failed at once, and no grant carries
// the old token. Once the upstream accepts again, a refresh serves a new one.
func TestPermanentRefusalWhileValidFailsClosed(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	for _, c := range warmCases() {
		t.Run(c.name, func(t *testing.T) {
			grant := grantFor(t, b, c.cred, c.url)
			before, err := grant()
			if err != nil || tokenOf(before) == "" {
				t.Fatalf("before the refusal: %v", err)
			}
			c.fail(b.dev)
			st, err := b.client.Refresh(ctx, c.cred)
			if err != nil || st.State != api.StateFailed || st.LastErrorCode != c.code || st.ExpiresAt != nil {
				t.Fatalf("refresh = %+v, %v; want failed with %s and no expiry", st, err, c.code)
			}
			for i := range 5 {
				start := time.Now()
				h, err := grant()
				if tokenOf(h) == tokenOf(before) {
					t.Fatalf("grant %d after the refusal carries the old token", i+1)
				}
				wantCode(t, err, 503, api.CodeCredentialFailed)
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("grant %d was refused after %v, want at once", i+1, took)
				}
			}
			c.reset(b.dev)
			// A slow retry the failure scheduled may be in flight; Refresh
			// joins it, so a second one is the proof.
			for i := 0; i < 2 && (i == 0 || err == nil && st.State != api.StateReady); i++ {
				st, err = b.client.Refresh(ctx, c.cred)
			}
			if err != nil || st.State != api.StateReady {
				t.Fatalf("after the upstream recovered: %+v, %v", st, err)
			}
			after, err := grant()
			if err != nil || tokenOf(after) == tokenOf(before) {
				t.Fatalf("after recovery: %v (old token again: %v)", err, tokenOf(after) == tokenOf(before))
			}
		})
	}
	if logs := b.logs.String(); !strings.Contains(logs, "AADSTS700213") || !strings.Contains(logs, "PERMISSION_DENIED") {
		t.Error("the audit lines lack the redacted upstream errors")
	}
}

// TestFaultGitHubJobCompletedWarm: the warm case of the job-completed
// refusal. Every credential exchanging the identity holds a valid token;
// GitHub then says the job has completed. The credential whose refresh
// saw it is failed, every other credential of the identity stops serving
// its token too (purged), header requests get 503 credential_failed, and
// GitHub is asked no more for the completed job.
func TestFaultGitHubJobCompletedWarm(t *testing.T) {
	b := startBroker(t, brokerOpts{wait: 500 * time.Millisecond})
	ctx := context.Background()
	grants := map[string]func() (*api.HeadersResponse, error){}
	old := map[string]string{}
	for _, c := range warmCases() {
		if _, ok := grants[c.cred]; ok {
			continue
		}
		grants[c.cred] = grantFor(t, b, c.cred, c.url)
		h, err := grants[c.cred]()
		if err != nil {
			t.Fatalf("%s before the job completed: %v", c.cred, err)
		}
		old[c.cred] = tokenOf(h)
	}
	b.dev.GitHub.SetCompleted(true)
	st, err := b.client.Refresh(ctx, "anthropic")
	if err != nil || st.State != api.StateFailed || st.LastErrorCode != "job_completed" {
		t.Fatalf("refresh = %+v, %v; want failed with job_completed", st, err)
	}
	asked := b.dev.GitHub.Requests()
	for round := range 3 {
		for cred, grant := range grants {
			h, err := grant()
			if tokenOf(h) == old[cred] {
				t.Fatalf("round %d: %s still serves the completed job's token", round+1, cred)
			}
			wantCode(t, err, 503, api.CodeCredentialFailed)
		}
	}
	for cred := range grants {
		st, err := b.client.Credential(ctx, cred)
		if err != nil || st.State != api.StateFailed || st.LastErrorCode != "job_completed" {
			t.Errorf("%s = %+v, %v; want failed with job_completed", cred, st, err)
		}
	}
	if n := b.dev.GitHub.Requests() - asked; n != 0 {
		t.Errorf("%d more requests to GitHub for the completed job", n)
	}
	// The static key is no token of the job: it keeps serving.
	if _, err := grantFor(t, b, "anthropic-key", "")(); err != nil {
		t.Errorf("the static key stopped serving: %v", err)
	}
}

// TestShortLifetimeWarningEvent: a token living under 2 min is announced
// as a credential.lifetime_warning event (valid against the spec), with
// the lifetime taken and the floor, and a warn log line.
func TestShortLifetimeWarningEvent(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{lifetime: 90 * time.Second})
	w := watch(t, client.New(b.sock, client.WithTransport(spec.Transport)), client.WatchOptions{})
	if _, err := b.client.Refresh(context.Background(), "anthropic"); err != nil {
		t.Fatal(err)
	}
	for {
		ev := nextEvent(t, w, spec)
		if ev.Type != api.EventCredentialLifetimeWarning || ev.Credential != "anthropic" {
			continue
		}
		if ev.Detail["expires_in"] != "1m30s" || ev.Detail["stated_expires_in"] != "1m30s" || ev.Detail["minimum"] != "2m0s" {
			t.Fatalf("warning detail = %v", ev.Detail)
		}
		break
	}
	if n := strings.Count(b.logs.String(), "token lifetime out of the expected range"); n == 0 {
		t.Error("no warn line for the short lifetime")
	}
}
