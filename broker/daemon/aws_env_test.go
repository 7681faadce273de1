package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/client"
)

// redirect sends requests for one https host to a loopback fake instead,
// and records that they were made.
type redirect struct {
	host string
	to   *url.URL
	next http.RoundTripper

	mu   sync.Mutex
	hits int
}

func (r *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" && req.URL.Host == r.host {
		r.mu.Lock()
		r.hits++
		r.mu.Unlock()
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = r.to.Scheme, r.to.Host, ""
	}
	return r.next.RoundTrip(req)
}

// TestEnvCompatAWS: the gh-aw api-proxy environment with
// AWF_AUTH_PROVIDER=aws builds a credential "openai" (the api-proxy's port 10000) that assumes the role at
// the default regional STS endpoint with the configured session name, and
// whose signatures Bedrock accepts.
func TestEnvCompatAWS(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/gh-aw"
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	sts := fake.NewSTS(fake.STSOptions{GitHub: gh, RoleARN: role})
	defer sts.Close()
	br := fake.NewBedrock(fake.BedrockOptions{STS: sts, Region: "eu-west-1"})
	defer br.Close()
	env := map[string]string{
		"AWF_AUTH_TYPE": "github-oidc", "AWF_AUTH_PROVIDER": "aws",
		"AWF_AUTH_AWS_ROLE_ARN": role, "AWF_AUTH_AWS_REGION": "eu-west-1", "AWF_AUTH_AWS_ROLE_SESSION_NAME": "gh-run-42",
		"ACTIONS_ID_TOKEN_REQUEST_URL": gh.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": gh.RequestToken().Reveal(),
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.FromEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	cr, ok := cfg.Credential("openai")
	if !ok || cr.TokenURL != "https://sts.eu-west-1.amazonaws.com" || cr.Hosts[0] != "bedrock-runtime.eu-west-1.amazonaws.com" {
		t.Fatalf("credential = %+v", cr)
	}
	cfg.Socket.Path = filepath.Join(t.TempDir(), "broker.sock")
	stsURL, _ := url.Parse(sts.URL())
	rd := &redirect{host: "sts.eu-west-1.amazonaws.com", to: stsURL, next: http.DefaultTransport}
	b := runDaemon(t, nil, 0, Options{Config: cfg, Lookup: lookup,
		HTTP: provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond, Transport: rd})})
	select {
	case <-b.d.FirstRound():
	case <-time.After(10 * time.Second):
		t.Fatal("no first exchange round")
	}
	c := client.New(cfg.Socket.Path)
	defer c.Close()
	st, err := c.Credential(context.Background(), "openai")
	if err != nil || st.State != api.StateReady || !st.NeedsBodySHA256 {
		t.Fatalf("credential aws: %+v %v", st, err)
	}
	rd.mu.Lock()
	hits := rd.hits
	rd.mu.Unlock()
	reqs := sts.Requests()
	if hits != 1 || len(reqs) != 1 || reqs[0].Form["RoleSessionName"] != "gh-run-42" || reqs[0].Form["RoleArn"] != role {
		t.Fatalf("STS saw %d requests (%d to the default endpoint): %+v", len(reqs), hits, reqs)
	}

	// The credential's signature, for its default host, passes Bedrock.
	l, err := c.CreateLease(context.Background(), api.CreateLeaseRequest{Credential: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	sum := sha256.Sum256(body)
	const host = "bedrock-runtime.eu-west-1.amazonaws.com"
	h, err := c.Headers(context.Background(), l.ID, l.Secret, &api.HeadersRequest{Method: "POST",
		URL: "https://" + host + "/model/m/converse", Headers: map[string]string{"content-type": "application/json"}, BodySHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", br.URL()+"/model/m/converse", bytes.NewReader(body))
	req.Host = host // as if sent to the real endpoint
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h.Set {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("Bedrock refused the env credential's signature: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), out)
	}
}
