package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
)

// TestCloudsThroughForwarder: an agent's request with its placeholder
// keys goes through the real forwarder and broker to a fake model API that
// accepts only a bearer its token endpoint minted and refuses a request
// still carrying an API key.
func TestCloudsThroughForwarder(t *testing.T) {
	apis := map[string]*fake.BearerAPI{}
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		c := d.Clouds
		for _, x := range []struct {
			from  string
			valid func(string) bool
			key   string
		}{
			{"vertex", c.GCP.ValidAccess, "x-goog-api-key"},
			{"azure-openai", c.Azure.Valid, "api-key"},
			{"openai", c.OpenAI.Valid, "api-key"},
		} {
			api := fake.NewBearerAPI(x.valid, x.key)
			t.Cleanup(api.Close)
			apis[x.from] = api
			cr, _ := d.Config.Credential(x.from)
			local := *cr
			local.Name, local.Hosts = x.from+"-local", []string{api.Host()}
			d.Config.Credentials = append(d.Config.Credentials, local)
		}
	}})
	cases := []struct {
		cred, path string
		agent      map[string]string
	}{
		{"vertex", "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent",
			map[string]string{"x-goog-api-key": "placeholder", "authorization": "Bearer placeholder"}},
		{"azure-openai", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
			map[string]string{"api-key": "placeholder"}},
		{"openai", "/v1/chat/completions", map[string]string{"authorization": "Bearer sk-placeholder"}},
	}
	for _, c := range cases {
		t.Run(c.cred, func(t *testing.T) {
			api := apis[c.cred]
			up, _ := url.Parse(api.URL())
			cl := client.New(b.sock)
			f, err := forward.New(forward.Config{Client: cl, Credential: c.cred + "-local", Upstream: up, Label: "clouds", MaxWait: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if err := f.Start(ctx); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(f)
			defer func() { srv.Close(); f.Close(); cancel(); cl.Close() }()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+c.path, strings.NewReader(`{"messages":[]}`))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range c.agent {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || api.Served() != 1 || api.Refused() != 0 || api.LastPath() != c.path {
				t.Fatalf("status %d body %s; served %d refused %d path %q", resp.StatusCode, body, api.Served(), api.Refused(), api.LastPath())
			}
		})
	}
	// The fake API is strict: a placeholder bearer does not pass, nor a
	// valid one beside an api-key.
	ctx := context.Background()
	az := apis["azure-openai"]
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "azure-openai-local"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: az.URL() + "/openai/v1/chat/completions"})
	if err != nil {
		t.Fatal(err)
	}
	for _, hdrs := range []map[string]string{
		{"authorization": "Bearer placeholder"},
		{"authorization": h.Set["authorization"], "api-key": "placeholder"},
	} {
		req, _ := http.NewRequest(http.MethodPost, az.URL()+"/openai/v1/chat/completions", nil)
		for k, v := range hdrs {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("%v accepted: %d", redact(hdrs), resp.StatusCode)
		}
	}
}
