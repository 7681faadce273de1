package daemon

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/apitest"
)

// asOtherUID is a client, validating against spec, whose calls the
// daemon sees from uid 65534 (see broker.as).
func asOtherUID(t *testing.T, b *broker, spec *apitest.Spec) *client.Client {
	t.Helper()
	return b.as(t, peer.Cred{UID: nobody, GID: nobody, PID: 1, StartTime: 1}, client.WithTransport(spec.Transport))
}

func TestRoutesMatchSpec(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{})
	var routes, ops []string
	for _, r := range b.d.server.Routes() {
		routes = append(routes, r.Method+" "+r.Path)
	}
	for _, o := range spec.Operations() {
		ops = append(ops, o.Method+" "+o.Path)
	}
	sort.Strings(routes)
	sort.Strings(ops)
	if strings.Join(routes, "\n") != strings.Join(ops, "\n") {
		t.Fatalf("route table and api/openapi.yaml differ:\nroutes:\n%s\nspec:\n%s", strings.Join(routes, "\n"), strings.Join(ops, "\n"))
	}
}

// TestContract drives every documented path and status through a
// transport that validates each answer against api/openapi.yaml.
func TestContract(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{lifetime: 4 * time.Second, wait: 200 * time.Millisecond})
	ctx := context.Background()
	c := client.New(b.sock, client.WithTransport(spec.Transport))
	defer c.Close()
	hc := &http.Client{Transport: spec.Transport(rawClient(b.sock).Transport)}
	raw := func(method, path, auth, body string) int {
		req, _ := http.NewRequest(method, "http://unix"+path, bytes.NewReader([]byte(body)))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	const unknownID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	big := `{"credential":"` + strings.Repeat("a", 70000) + `"}`

	c.Health(ctx)
	c.Ready(ctx)
	c.Credentials(ctx)
	c.Credential(ctx, "anthropic")
	c.Credential(ctx, "nope")
	raw("GET", "/v1/credentials/a$b", "", "")
	c.Refresh(ctx, "anthropic")
	raw("POST", "/v1/credentials/a$b/refresh", "", "")
	c.Refresh(ctx, "nope")
	l, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "nope"})
	c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Hosts: []string{"evil.com"}})
	raw("POST", "/v1/leases", "", `{"credential":1}`)
	raw("POST", "/v1/leases", "", big)
	c.Leases(ctx)
	c.Lease(ctx, l.ID)
	c.Lease(ctx, unknownID)
	raw("GET", "/v1/leases/not-a-uuid", "", "")
	c.RenewLease(ctx, l.ID, "")
	c.RenewLease(ctx, unknownID, "")
	raw("POST", "/v1/leases/not-a-uuid/renew", "", "")
	raw("POST", "/v1/leases/"+l.ID+"/renew", "", big)
	c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://evil.com/"})
	c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "http://evil.com/"})
	c.Headers(ctx, l.ID, "wrong", &api.HeadersRequest{Method: "POST", URL: url})
	c.Headers(ctx, unknownID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	raw("POST", "/v1/leases/"+l.ID+"/headers", l.Secret, big)
	c.Invalidate(ctx, l.ID, l.Secret)
	c.Invalidate(ctx, l.ID, "wrong")
	c.Invalidate(ctx, unknownID, l.Secret)
	raw("POST", "/v1/leases/not-a-uuid/invalidate", l.Secret, "")
	raw("POST", "/v1/leases/not-a-uuid/headers", l.Secret, "{}")
	c.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: b.dev.GitHub.RequestToken().Reveal()})
	c.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: "http://evil.com/", RequestToken: "x"})
	c.RegisterIdentity(ctx, "nope", api.IdentityRegistration{RequestURL: "x", RequestToken: "y"})
	raw("PUT", "/v1/identities/github", "", big)
	c.ClearIdentity(ctx, "nope")
	raw("DELETE", "/v1/identities/a$b", "", "")
	raw("GET", "/v1/events", "", "") // no upgrade: 400
	w, err := c.Watch(ctx, client.WatchOptions{Types: []string{"identity.*"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Watch(ctx, client.WatchOptions{Types: []string{"nope"}})
	c.Metrics(ctx)
	c.ClearIdentity(ctx, "github") // revokes the leases on anthropic
	// The clearing's event, checked against the Event schema.
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		b, err := w.NextRaw(rctx)
		cancel()
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		spec.ValidateSchema("Event", b)
		if bytes.Contains(b, []byte(`"identity.cleared"`)) {
			break
		}
	}
	w.Close()
	c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url})
	c.Invalidate(ctx, l.ID, l.Secret)
	c.RenewLease(ctx, l.ID, "")
	c.Ready(ctx)                                                        // anthropic is pending again: 503
	c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"}) // no job registered: 503

	// 503 on headers and refresh: the token endpoint down and the token expired.
	c.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: b.dev.GitHub.RequestToken().Reveal()})
	b.waitReady()
	l2, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	b.dev.Anthropic.Fail(fake.Fault500, -1)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Headers(ctx, l2.ID, l2.Secret, &api.HeadersRequest{Method: "POST", URL: url}); client.IsCode(err, api.CodeCredentialUnavailable) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Invalidate(ctx, l2.ID, l2.Secret)
	rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	c.Refresh(rctx, "anthropic")
	cancel()

	c.RevokeLease(ctx, l2.ID)
	c.RevokeLease(ctx, unknownID)
	raw("DELETE", "/v1/leases/not-a-uuid", "", "")

	// The refusals of another uid, through the same handler with the
	// caller's peer set to uid 65534 (TestOtherUID does it for real).
	other := asOtherUID(t, b, spec)
	defer other.Close()
	l3, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic-key"})
	if err != nil {
		t.Fatal(err)
	}
	other.Refresh(ctx, "anthropic")
	other.Lease(ctx, l3.ID)
	other.RenewLease(ctx, l3.ID, "")
	other.RevokeLease(ctx, l3.ID)
	other.Invalidate(ctx, l3.ID, l3.Secret)
	other.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: "x", RequestToken: "y"})
	other.ClearIdentity(ctx, "github")
	other.Metrics(ctx)

	// 429 past the quotas, here set to 1 by a reload.
	lowered := *b.d.config()
	lowered.Limits = config.Limits{LeasesPerUID: 1, SubscribersPerUID: 1, ConnectionsPerUID: 1024}
	if _, err := b.d.Reload(&lowered); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic-key"}); !client.IsCode(err, api.CodeQuotaExceeded) {
		t.Errorf("a lease past leases_per_uid: %v", err)
	}
	w1, err := c.Watch(ctx, client.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Watch(ctx, client.WatchOptions{}); !client.IsCode(err, api.CodeQuotaExceeded) {
		t.Errorf("a subscriber past subscribers_per_uid: %v", err)
	}
	w1.Close()

	// 429 on every route past connections_per_uid: with the limit at 1
	// and a connection of this uid open, each new one is refused.
	lowered.Limits.ConnectionsPerUID = 1
	if _, err := b.d.Reload(&lowered); err != nil {
		t.Fatal(err)
	}
	hold, err := net.Dial("unix", b.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	// An answer on it shows the server counted it (were it refused, the
	// client's idle connections it was refused for stay open).
	if _, err := io.WriteString(hold, "GET /v1/health HTTP/1.1\r\nHost: unix\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := http.ReadResponse(bufio.NewReader(hold), nil); err != nil {
		t.Fatal(err)
	}
	// A client of its own: raw's pooled connections were accepted before.
	fresh := &http.Client{Transport: spec.Transport(rawClient(b.sock).Transport)}
	fill := strings.NewReplacer("{name}", "anthropic", "{id}", l3.ID)
	for _, op := range spec.Operations() {
		req, _ := http.NewRequest(op.Method, "http://unix"+fill.Replace(op.Path), nil)
		resp, err := fresh.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("%s %s past connections_per_uid: %d, want 429", op.Method, op.Path, resp.StatusCode)
		}
	}
	if v := spec.Violations(); len(v) > 0 {
		t.Fatalf("%d answers break api/openapi.yaml:\n%s", len(v), apitest.Summary(v))
	}
	if un := spec.Uncovered(); len(un) > 0 {
		t.Errorf("documented but never produced in this test:\n%s", strings.Join(un, "\n"))
	}
}
