package daemon

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/client"
)

// grant leases cred and returns the lease and the bearer its first header
// request carries.
func (b *broker) grant(ctx context.Context, cred, label string) (*api.CreatedLease, string) {
	b.t.Helper()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: cred, Label: label})
	if err != nil {
		b.t.Fatalf("lease %s: %v", cred, err)
	}
	return l, b.bearer(ctx, l)
}

// bearer asks for the headers of one request under l.
func (b *broker) bearer(ctx context.Context, l *api.CreatedLease) string {
	b.t.Helper()
	tok, err := b.tryBearer(ctx, l)
	if err != nil {
		b.t.Fatalf("headers for lease %s: %v", l.ID, err)
	}
	return tok
}

func (b *broker) tryBearer(ctx context.Context, l *api.CreatedLease) (string, error) {
	h, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(h.Set["authorization"], "Bearer "), nil
}

// TestIdentityBindingAcrossJobs is DESIGN §5's identity binding told as
// two jobs on one runner: job A registers the identity over the socket
// and its agent leases a token minted from A's JWT; job B registers next.
// From then on A's lease is revoked (410), A's token is purged, and every
// new lease is served a token exchanged from B's JWT, never A's: the fake
// GitHub stamps each JWT with the run id of the request token that asked
// for it, and the fake token endpoint remembers which JWT each token came
// from. Clearing the identity then leaves nothing to serve.
func TestIdentityBindingAcrossJobs(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	gh, tokens := b.dev.GitHub, b.dev.Anthropic

	// Job A.
	jobA := gh.AddJob("1001")
	id, err := b.client.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: gh.RequestURL(), RequestToken: jobA.Reveal()})
	if err != nil || !id.Registered {
		t.Fatalf("register job A: %+v %v", id, err)
	}
	leaseA, tokA := b.grant(ctx, "anthropic", "job-a")
	if got := tokens.RunIDOf(tokA); got != "1001" {
		t.Fatalf("job A's lease got a token minted for run %q, want 1001", got)
	}

	// Job B re-registers the identity.
	jobB := gh.AddJob("1002")
	id2, err := b.client.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: gh.RequestURL(), RequestToken: jobB.Reveal()})
	if err != nil || id2.Generation <= id.Generation {
		t.Fatalf("register job B: %+v %v", id2, err)
	}
	if _, err := b.tryBearer(ctx, leaseA); !client.IsCode(err, api.CodeLeaseRevoked) {
		t.Fatalf("job A's lease after job B registered: %v, want 410 lease_revoked", err)
	}
	if l, err := b.client.Lease(ctx, leaseA.ID); err != nil || l.State != api.LeaseRevoked {
		t.Fatalf("job A's lease: %+v %v", l, err)
	}

	// Agents of job B lease concurrently: each is served B's token.
	var wg sync.WaitGroup
	got := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "job-b"})
			if err != nil {
				t.Errorf("lease: %v", err)
				return
			}
			tok, err := b.tryBearer(ctx, l)
			if err != nil {
				t.Errorf("headers: %v", err)
				return
			}
			got <- tok
		}()
	}
	wg.Wait()
	close(got)
	n := 0
	for tok := range got {
		n++
		if tok == tokA {
			t.Fatal("job B's lease was served job A's token")
		}
		if run := tokens.RunIDOf(tok); run != "1002" {
			t.Fatalf("job B's lease got a token minted for run %q, want 1002", run)
		}
	}
	if n != 8 {
		t.Fatalf("%d of 8 grants", n)
	}

	// Clearing the registration revokes B's leases and serves nothing.
	leaseB, _ := b.grant(ctx, "anthropic", "job-b-last")
	if _, err := b.client.ClearIdentity(ctx, "github"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.tryBearer(ctx, leaseB); !client.IsCode(err, api.CodeLeaseRevoked) {
		t.Fatalf("job B's lease after clear: %v, want 410 lease_revoked", err)
	}
	// With no job registered there is no lease to have (LeaseGate).
	if _, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "after-clear"}); !client.IsCode(err, api.CodeCredentialUnavailable) {
		t.Fatalf("a lease after clear: %v, want 503 credential_unavailable", err)
	}
}

// TestIdentityRegistrationRefusals: the request URL must name an allowed
// host, and only admins and the identity's allowed uids may register.
func TestIdentityRegistrationRefusals(t *testing.T) {
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		d.Config.Identities[0].AllowedRequestHosts = []string{"*.actions.githubusercontent.com"}
	}})
	ctx := context.Background()
	tok := b.dev.GitHub.AddJob("7").Reveal()
	cases := []struct {
		url, code string
	}{
		{"https://evil.example.com/_apis/token?api-version=2.0", api.CodeBadRequest},
		{"http://pipelines.actions.githubusercontent.com/_apis/token", api.CodeBadRequest},
		{"not a url", api.CodeBadRequest},
	}
	for _, c := range cases {
		if _, err := b.client.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: c.url, RequestToken: tok}); !client.IsCode(err, c.code) {
			t.Errorf("register %q: %v, want %s", c.url, err, c.code)
		}
	}
	if _, err := b.client.RegisterIdentity(ctx, "nope", api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: tok}); !client.IsCode(err, api.CodeUnknownIdentity) {
		t.Errorf("unknown identity: %v", err)
	}
	if strings.Contains(b.logs.String(), tok) {
		t.Error("a request token reached the log")
	}
}

// TestNoTokenForALeaseRevokedWhileWaiting: a header request waiting for an
// exchange when its lease is revoked gets 410, not the new token.
func TestNoTokenForALeaseRevokedWhileWaiting(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	l, _ := b.grant(ctx, "anthropic", "waiting")
	b.dev.Anthropic.SetDelay(time.Second)
	b.dev.Anthropic.Fail(fake.FaultSlow, 1)
	cache := b.d.creds.Load().ByName["anthropic"].Cache()
	cache.Purge() // no token: the next exchange is slow
	res := make(chan error, 1)
	go func() { _, err := b.tryBearer(ctx, l); res <- err }()
	for cache.Status().Waiters == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.client.RevokeLease(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !client.IsCode(err, api.CodeLeaseRevoked) {
		t.Fatalf("the waiting request: %v, want 410 lease_revoked", err)
	}
}

// TestRegistrationWaitsForALeaseCreation: a lease that job A's caller is
// creating when job B registers (it passed the lease gate under A) lands
// before B's registration revokes A's leases, and is revoked with them;
// it never outlives A to be served B's token. Clearing works the same way.
func TestRegistrationWaitsForALeaseCreation(t *testing.T) {
	for _, tc := range []struct {
		name string
		next func(ctx context.Context, b *broker) error
	}{
		{"job B registers", func(ctx context.Context, b *broker) error {
			_, err := b.client.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: b.dev.GitHub.AddJob("2002").Reveal()})
			return err
		}},
		{"job A is cleared", func(ctx context.Context, b *broker) error {
			_, err := b.client.ClearIdentity(ctx, "github")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, brokerOpts{})
			ctx := context.Background()
			jobA := b.dev.GitHub.AddJob("2001")
			if _, err := b.client.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: b.dev.GitHub.RequestURL(), RequestToken: jobA.Reveal()}); err != nil {
				t.Fatal(err)
			}
			gated, release := make(chan struct{}), make(chan struct{})
			created := make(chan *lease.Lease, 1)
			go func() {
				var l *lease.Lease
				err := b.d.creds.LeaseChange(func() error {
					cr, _ := b.d.creds.Get("anthropic")
					if err := cr.(server.LeaseGate).LeaseGate(); err != nil {
						return err
					}
					close(gated)
					<-release
					info := cr.Info()
					var err error
					l, _, err = b.d.leases.Create(lease.Ceiling{Name: info.Name, Hosts: info.Hosts, MaxTTL: info.LeaseTTL, MaxLifetime: info.LeaseMaxLifetime},
						api.CreateLeaseRequest{Credential: "anthropic"}, lease.Holder{Cred: peer.Cred{UID: uint32(os.Getuid())}})
					return err
				})
				if err != nil {
					t.Errorf("create under job A: %v", err)
				}
				created <- l
			}()
			<-gated
			done := make(chan error, 1)
			go func() { done <- tc.next(ctx, b) }()
			waitExclusiveOrDone(doneSignal(done))
			close(release)
			l := <-created
			if l == nil {
				t.Fatal("no lease created")
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got, err := b.client.Lease(ctx, l.ID)
			if err != nil || got.State != api.LeaseRevoked {
				t.Fatalf("the lease created under job A while %s: %+v %v, want revoked", tc.name, got, err)
			}
		})
	}
}

// doneSignal is closed once one value has arrived on c, which it puts back.
func doneSignal(c chan error) <-chan struct{} {
	out := make(chan struct{})
	go func() { err := <-c; c <- err; close(out) }()
	return out
}
