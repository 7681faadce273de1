package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

// as serves the daemon's handler on a second socket whose callers all
// appear as cred, and returns a client for it, made with opts: how a test
// plays a caller other than the test process (root, always an admin).
func (b *broker) as(t *testing.T, cred peer.Cred, opts ...client.Option) *client.Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "as.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: b.d.Handler(), ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
		return peer.WithCred(ctx, cred)
	}}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c := client.New(sock, opts...)
	t.Cleanup(c.Close)
	return c
}

// TestReloadDropsAdmin: a uid dropped from admin.uids loses the leases it
// held on credentials it was never allowed, although no credential
// changed, and cannot renew them (before: it kept and renewed them).
func TestReloadDropsAdmin(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	text := func(admin string) string {
		return admin + configText(dev, sock, "", anthropicBlock(dev, "anthropic", `hosts = ["api.anthropic.com"]`))
	}
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string {
		dev, sock = d, s
		return text("admin {\n  uids = [65534]\n}\n")
	})
	ctx := context.Background()
	nobodyC := fb.as(t, peer.Cred{UID: nobody, GID: nobody, PID: 1, StartTime: 1})
	l, err := nobodyC.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatalf("admin nobody leases: %v", err)
	}
	sum, err := fb.reload(t, text(""))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Unchanged, []string{"anthropic"}) || sum.Revoked != 1 {
		t.Errorf("summary %+v, want anthropic unchanged and 1 lease revoked", sum)
	}
	if _, err := nobodyC.RenewLease(ctx, l.ID, ""); !client.IsCode(err, api.CodeLeaseRevoked) {
		t.Errorf("renew after losing admin: %v, want lease_revoked", err)
	}
	if _, err := fb.tryBearer(ctx, l); !client.IsCode(err, api.CodeLeaseRevoked) && !client.IsCode(err, api.CodeForbidden) {
		t.Errorf("headers after losing admin: %v, want refused", err)
	}
	got, err := fb.client.Lease(ctx, l.ID)
	if err != nil || got.State != api.LeaseRevoked {
		t.Errorf("lease after reload: %+v %v, want revoked", got, err)
	}
}

// TestReloadLowersLeaseTTL: lowering lease_ttl shortens the leases that
// would outlive it (before: nothing changed).
func TestReloadLowersLeaseTTL(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	text := func(ttl string) string {
		return configText(dev, sock, "", anthropicBlock(dev, "anthropic", `hosts = ["api.anthropic.com"]
  lease_ttl = "`+ttl+`"`))
	}
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string { dev, sock = d, s; return text("1h") })
	ctx := context.Background()
	l, _ := fb.grant(ctx, "anthropic", "ttl")
	if _, err := fb.reload(t, text("5m")); err != nil {
		t.Fatal(err)
	}
	got, err := fb.client.Lease(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if limit := time.Now().Add(5*time.Minute + time.Second); got.State != api.LeaseActive || got.ExpiresAt.After(limit) {
		t.Errorf("lease after lowering lease_ttl to 5m: %s, expires %v (later than %v)", got.State, got.ExpiresAt, limit)
	}
	renewed, err := fb.client.RenewLease(ctx, l.ID, "30m")
	if !client.IsCode(err, api.CodeBadRequest) {
		t.Errorf("renew for 30m under a 5m lease_ttl: %+v %v, want bad_request", renewed, err)
	}
}

// TestReloadValueFileChanged: a rotated value_file is a changed
// credential: the reload rebuilds it and its leases get the new key
// (before: it was "unchanged" and kept serving the old key).
func TestReloadValueFileChanged(t *testing.T) {
	var dev *devenv.Dev
	var sock, key string
	text := func() string {
		return configText(dev, sock, "", staticBlock("key", `value_file = "`+key+`"`))
	}
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string {
		dev, sock = d, s
		key = filepath.Join(filepath.Dir(s), "api.key")
		if err := os.WriteFile(key, []byte("sk-old-key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return text()
	})
	ctx := context.Background()
	l, err := fb.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "key"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("sk-new-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := fb.reload(t, text())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Changed, []string{"key"}) {
		t.Errorf("summary %+v, want key changed", sum)
	}
	h, err := fb.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Set["x-api-key"]; got != "sk-new-key" {
		t.Errorf("after the key file changed the lease is served %q, want the new key", got)
	}
}

// TestProcessLeaseFromAnotherProcess: another process of the holder's
// uid can neither renew nor revoke a process-bound lease without its
// secret (before: it could revoke a forwarder's lease for good); with the
// secret it may. A caller whose pid the broker cannot see is refused
// bind "process" with 400 process_not_visible (before: bad_request).
func TestProcessLeaseFromAnotherProcess(t *testing.T) {
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string {
		return configText(d, s, "", staticBlock("key", `value_env = "`+devenv.KeyEnv+`"`)+`
credential "shared" {
  provider  = "static"
  header    = "x-api-key"
  value_env = "`+devenv.KeyEnv+`"
  hosts     = ["api.anthropic.com"]
  allow {
    uids = [65534]
  }
}
`)
	})
	ctx := context.Background()
	holder := fb.as(t, peer.Cred{UID: nobody, GID: nobody, PID: int32(os.Getpid()), StartTime: selfStartTime(t)})
	sibling := fb.as(t, peer.Cred{UID: nobody, GID: nobody, PID: int32(os.Getppid()), StartTime: 1})
	l, err := holder.CreateLease(ctx, api.CreateLeaseRequest{Credential: "shared", Bind: api.BindProcess})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sibling.RenewLease(ctx, l.ID, ""); !client.IsCode(err, api.CodeForbidden) {
		t.Errorf("renew from another process: %v, want forbidden", err)
	}
	if _, err := sibling.RevokeLease(ctx, l.ID); !client.IsCode(err, api.CodeForbidden) {
		t.Errorf("revoke from another process: %v, want forbidden", err)
	}
	if _, err := holder.RenewLease(ctx, l.ID, ""); err != nil {
		t.Errorf("renew from the holder process: %v", err)
	}
	got, err := fb.client.Lease(ctx, l.ID)
	if err != nil || got.State != api.LeaseActive {
		t.Errorf("lease after the refusals: %+v %v, want active", got, err)
	}
	invisible := fb.as(t, peer.Cred{UID: nobody, GID: nobody})
	if _, err := invisible.CreateLease(ctx, api.CreateLeaseRequest{Credential: "shared", Bind: api.BindProcess}); !client.IsCode(err, api.CodeProcessNotVisible) {
		t.Errorf("bind process with pid 0: %v, want process_not_visible", err)
	}
}

// selfStartTime is the test process's start time, as the broker reads it.
func selfStartTime(t *testing.T) uint64 {
	t.Helper()
	st, err := peer.StartTime(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReloadNarrowsSubscription: a reload that takes a credential away
// from a subscriber applies to its open event stream too: it no longer
// sees that credential's events.
func TestReloadNarrowsSubscription(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	block := func(name, uids string) string {
		return `credential "` + name + `" {
  provider  = "static"
  header    = "x-api-key"
  value_env = "` + devenv.KeyEnv + `"
  hosts     = ["api.anthropic.com"]
  allow {
    uids = [` + uids + `]
  }
}
`
	}
	text := func(sharedUIDs string) string {
		return configText(dev, sock, "", block("shared", sharedUIDs)+block("mine", "65534"))
	}
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string { dev, sock = d, s; return text("65534") })
	ctx := context.Background()
	nobodyC := fb.as(t, peer.Cred{UID: nobody, GID: nobody, PID: 1, StartTime: 1})
	w, err := nobodyC.Watch(ctx, client.WatchOptions{Types: []string{api.EventCredentialRefreshed}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	testharness.WaitFor(t, 10*time.Second, "the subscription", func() bool { return fb.d.obs.Bus().Subscribers() == 1 })
	if _, err := fb.reload(t, text("")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shared", "mine"} {
		if _, err := fb.client.Refresh(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ev, err := w.Next(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Credential != "mine" {
		t.Errorf("first event after the reload is about %q, want \"mine\": the stream still shows a credential taken away", ev.Credential)
	}
}

// TestNonAdminReadyAndRegistration, through the daemon: GET /v1/ready
// shows a non-admin only the credentials it may lease (before: every
// credential's name and last error), and a non-admin allowed to register
// the identity may not aim it at a loopback port the config does not list
// (before: loopback was always accepted).
func TestNonAdminReadyAndRegistration(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	text := func(extra string) string {
		return fmt.Sprintf(`socket {
  path = %q
  mode = "0666"
}
identity "github" {
  type = "github-actions"
  allowed_request_hosts = ["*.actions.githubusercontent.com"]
  allow {
    uids = [65534]
  }
}
credential "mine" {
  provider  = "static"
  header    = "x-api-key"
  value_env = %q
  hosts     = ["api.anthropic.com"]
  allow {
    uids = [65534]
  }
}
%s`, sock, devenv.KeyEnv, extra)
	}
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string { dev, sock = d, s; return text("") })
	ctx := context.Background()
	// "broken", added by a reload, fails its first exchange for good.
	fb.dev.Anthropic.Fail(fake.FaultInvalidGrant, -1)
	if _, err := fb.reload(t, text(anthropicBlock(dev, "broken", `hosts = ["api.anthropic.com"]`))); err != nil {
		t.Fatal(err)
	}
	testharness.WaitFor(t, 10*time.Second, "broken to fail", func() bool {
		c, err := fb.client.Credential(ctx, "broken")
		return err == nil && c.State == api.StateFailed
	})
	nobodyC := fb.as(t, peer.Cred{UID: nobody, GID: nobody, PID: 1, StartTime: 1})
	r, err := nobodyC.Ready(ctx)
	if err != nil || r == nil || r.Ready || len(r.NotReady) != 0 {
		t.Errorf("ready as nobody: %+v %v, want not ready and no credential named", r, err)
	}
	r, err = fb.client.Ready(ctx)
	if r == nil || len(r.NotReady) != 1 || r.NotReady[0].Credential != "broken" {
		t.Errorf("ready as admin: %+v %v, want broken named", r, err)
	}
	_, err = nobodyC.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: fb.dev.GitHub.RequestURL(), RequestToken: "t"})
	if !client.IsCode(err, api.CodeForbidden) {
		t.Errorf("nobody registering a loopback request URL: %v, want forbidden", err)
	}
}
