package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/client"
)

// fileBroker is a daemon run from a config file, as awf-brokerd runs it,
// against the fakes of a Dev environment.
type fileBroker struct {
	*broker
	path string
	dir  string
}

// configText is an HCL config for the fakes: one github-actions identity
// and the given credential blocks.
func configText(dev *devenv.Dev, sock, identityExtra, creds string) string {
	return fmt.Sprintf(`socket {
  path = %q
  mode = "0666"
}
log {
  level  = "trace"
  format = "text"
}
identity "github" {
  type = "github-actions"
  %s
  allow {
    uids = [%d]
  }
}
%s`, sock, identityExtra, os.Getuid(), creds)
}

// anthropicBlock is a credential block against the fakes; extra lines
// (hosts, lease_ttl, …) go inside it.
func anthropicBlock(dev *devenv.Dev, name, extra string) string {
	return fmt.Sprintf(`credential %q {
  provider           = "anthropic"
  identity           = "github"
  federation_rule_id = %q
  organization_id    = %q
  service_account_id = %q
  token_url          = %q
  allow {
    uids = [%d]
  }
  %s
}
`, name, devenv.RuleID, devenv.OrgID, devenv.ServiceAccountID, dev.Anthropic.TokenURL(), os.Getuid(), extra)
}

func staticBlock(name, source string) string {
	return fmt.Sprintf(`credential %q {
  provider = "static"
  header   = "x-api-key"
  %s
  hosts    = ["api.anthropic.com"]
  allow {
    uids = [%d]
  }
}
`, name, source, os.Getuid())
}

func startFileBroker(t *testing.T, build func(dev *devenv.Dev, sock string) string) *fileBroker {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "broker.sock")
	dev, err := devenv.Start(sock, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	fb := &fileBroker{path: filepath.Join(dir, "config.hcl"), dir: dir}
	fb.write(t, build(dev, sock))
	cfg, err := config.Load(fb.path)
	if err != nil {
		t.Fatal(err)
	}
	b := runDaemon(t, dev, 0, Options{Config: cfg, ConfigPath: fb.path})
	b.waitReady()
	fb.broker = b
	return fb
}

func (fb *fileBroker) write(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(fb.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reload rewrites the config file and reloads it.
func (fb *fileBroker) reload(t *testing.T, text string) (ReloadSummary, error) {
	t.Helper()
	fb.write(t, text)
	return fb.d.ReloadFile()
}

func (b *broker) refreshes(name string) uint64 {
	b.t.Helper()
	c, err := b.client.Credential(context.Background(), name)
	if err != nil {
		b.t.Fatalf("credential %s: %v", name, err)
	}
	return c.Refreshes
}

// TestReload covers each case of a SIGHUP reload, through the socket API
// with real exchanges against the fakes: an unchanged credential keeps its
// token and leases; a changed one exchanges afresh and keeps the leases it
// still covers; one whose hosts narrowed revokes only the leases outside
// them; a removed one is gone with its leases revoked; an added one serves.
func TestReload(t *testing.T) {
	keyFile := ""
	var dev *devenv.Dev
	var sock string
	before := func(d *devenv.Dev, s string) string {
		dev, sock = d, s
		return configText(d, s, "", anthropicBlock(d, "keep", `hosts = ["api.anthropic.com"]`)+
			anthropicBlock(d, "change", `hosts = ["api.anthropic.com"]
  lease_ttl = "15m"`)+
			anthropicBlock(d, "narrow", `hosts = ["api.anthropic.com", "*.anthropic.com"]`)+
			staticBlock("gone", `value_env = "`+devenv.KeyEnv+`"`))
	}
	fb := startFileBroker(t, before)
	ctx := context.Background()
	keyFile = filepath.Join(fb.dir, "added.key")
	if err := os.WriteFile(keyFile, []byte("sk-added-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	keepLease, keepTok := fb.grant(ctx, "keep", "keep")
	keepRefreshes := fb.refreshes("keep")
	changeLease, changeTok := fb.grant(ctx, "change", "change")
	narrowFits, err := fb.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "narrow", Hosts: []string{"api.anthropic.com"}})
	if err != nil {
		t.Fatal(err)
	}
	narrowWide, err := fb.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "narrow"})
	if err != nil {
		t.Fatal(err)
	}
	goneLease, _ := fb.grant(ctx, "gone", "gone")

	after := configText(dev, sock, "", anthropicBlock(dev, "keep", `hosts = ["api.anthropic.com"]`)+
		anthropicBlock(dev, "change", `hosts = ["api.anthropic.com"]
  lease_ttl = "20m"`)+
		anthropicBlock(dev, "narrow", `hosts = ["api.anthropic.com"]`)+
		staticBlock("added", `value_file = "`+keyFile+`"`))
	sum, err := fb.reload(t, after)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	want := ReloadSummary{Added: []string{"added"}, Removed: []string{"gone"}, Changed: []string{"change", "narrow"}, Unchanged: []string{"keep"}, Revoked: 2}
	if fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}

	t.Run("unchanged keeps its token and leases", func(t *testing.T) {
		if tok := fb.bearer(ctx, keepLease); tok != keepTok {
			t.Error("the unchanged credential's token changed")
		}
		if n := fb.refreshes("keep"); n != keepRefreshes {
			t.Errorf("the unchanged credential re-exchanged: refreshes %d → %d", keepRefreshes, n)
		}
	})
	t.Run("changed re-exchanges and keeps the leases it covers", func(t *testing.T) {
		tok := fb.bearer(ctx, changeLease)
		if tok == changeTok || !fb.dev.Anthropic.Valid(tok) {
			t.Error("the changed credential did not exchange a new token")
		}
		c, err := fb.client.Credential(ctx, "change")
		if err != nil || c.LeaseTTL != "20m0s" {
			t.Errorf("change after reload: %+v %v", c, err)
		}
		if _, err := fb.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "change", TTL: "20m"}); err != nil {
			t.Errorf("a 20m lease under the new lease_ttl: %v", err)
		}
	})
	t.Run("narrowed revokes only the leases outside the new scope", func(t *testing.T) {
		if _, err := fb.tryBearer(ctx, narrowFits); err != nil {
			t.Errorf("the lease within the new hosts: %v", err)
		}
		if _, err := fb.tryBearer(ctx, narrowWide); !client.IsCode(err, api.CodeLeaseRevoked) {
			t.Errorf("the lease beyond the new hosts: %v, want lease_revoked", err)
		}
	})
	t.Run("removed is gone and its leases revoked", func(t *testing.T) {
		if _, err := fb.tryBearer(ctx, goneLease); !client.IsCode(err, api.CodeLeaseRevoked) {
			t.Errorf("the removed credential's lease: %v, want lease_revoked", err)
		}
		if _, err := fb.client.Credential(ctx, "gone"); !client.IsCode(err, api.CodeUnknownCredential) {
			t.Errorf("the removed credential: %v, want unknown_credential", err)
		}
	})
	t.Run("added starts and serves", func(t *testing.T) {
		l, err := fb.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "added"})
		if err != nil {
			t.Fatal(err)
		}
		h, err := fb.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
		if err != nil || h.Set["x-api-key"] != "sk-added-value" {
			t.Fatalf("added: %v", err)
		}
		r, err := fb.client.Ready(ctx)
		if err != nil || !r.Ready {
			t.Errorf("ready after reload: %+v %v", r, err)
		}
	})
	if !strings.Contains(fb.logs.String(), "config reloaded") {
		t.Error("no log line for the reload")
	}
}

// TestReloadRefused: an invalid config, or one with a writable key file,
// is refused with its errors logged by the caller and the old config
// keeps serving, tokens and leases untouched.
func TestReloadRefused(t *testing.T) {
	var text string
	fb := startFileBroker(t, func(dev *devenv.Dev, sock string) string {
		text = configText(dev, sock, "", anthropicBlock(dev, "anthropic", `hosts = ["api.anthropic.com"]`))
		return text
	})
	ctx := context.Background()
	l, tok := fb.grant(ctx, "anthropic", "before")
	writable := filepath.Join(fb.dir, "writable.key")
	if err := os.WriteFile(writable, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(writable, 0o664); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, text, want string
	}{
		{"syntax", text + "credential \"broken\" {\n", "config.hcl:"},
		{"unknown key", text + staticBlock("x", `value_env = "A"
  colour = "blue"`), `credential "x": colour: unknown attribute`},
		{"writable key file", text + staticBlock("x", `value_file = "`+writable+`"`), "mode 0664): group-writable, readable by others; chmod g-w,o-r " + writable},
		{"unsupported provider", strings.Replace(text, `provider           = "anthropic"`, `provider           = "nope"`, 1), "provider"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := fb.reload(t, c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "reload refused, the old config stays") {
				t.Fatalf("reload: %v, want an error with %q", err, c.want)
			}
			if got := fb.bearer(ctx, l); got != tok {
				t.Fatal("a refused reload changed the token served")
			}
			if !strings.Contains(fb.logs.String(), "reload refused") || !strings.Contains(fb.logs.String(), strings.ReplaceAll(c.want, `"`, `\"`)) {
				t.Fatal("the refusal and its errors are not in the log")
			}
		})
	}
	t.Run("writable config file", func(t *testing.T) {
		fb.write(t, text)
		if err := os.Chmod(fb.path, 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := fb.d.ReloadFile()
		if err == nil || !strings.Contains(err.Error(), "config file "+fb.path+" (owner uid "+strconv.Itoa(os.Getuid())+", mode 0666): group-writable, writable by others") {
			t.Fatalf("reload: %v", err)
		}
		os.Chmod(fb.path, 0o600)
	})
}

// TestReloadSettingsNeedingRestart: a changed socket is reported (and
// logged) as needing a restart, and the daemon keeps its socket.
func TestReloadSettingsNeedingRestart(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string {
		dev, sock = d, s
		return configText(d, s, "", anthropicBlock(d, "anthropic", ""))
	})
	sum, err := fb.reload(t, configText(dev, sock+".new", "", anthropicBlock(dev, "anthropic", "")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.RestartNeeded, []string{"socket"}) || !slices.Equal(sum.Unchanged, []string{"anthropic"}) {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(fb.logs.String(), "setting changed; it applies after a restart") {
		t.Error("no log line saying a restart is needed")
	}
	if _, err := fb.client.Health(context.Background()); err != nil {
		t.Fatalf("the old socket stopped answering: %v", err)
	}
}

// TestReloadIdentities: changing who may register an identity keeps its
// run-time registration (and tokens, and leases); changing its allowed
// request hosts rebuilds it from the daemon's environment, which ends the
// job's binding: the credentials using it revoke their leases and the
// next token comes from the environment's job, not the registered one.
func TestReloadIdentities(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	creds := func(d *devenv.Dev) string { return anthropicBlock(d, "anthropic", `hosts = ["api.anthropic.com"]`) }
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string {
		dev, sock = d, s
		return configText(d, s, "", creds(d))
	})
	ctx := context.Background()
	job := dev.GitHub.AddJob("777")
	if _, err := fb.client.RegisterIdentity(ctx, "github", api.IdentityRegistration{RequestURL: dev.GitHub.RequestURL(), RequestToken: job.Reveal()}); err != nil {
		t.Fatal(err)
	}
	l, tok := fb.grant(ctx, "anthropic", "job-777")
	if run := dev.Anthropic.RunIDOf(tok); run != "777" {
		t.Fatalf("token from run %q", run)
	}

	// Only the allow list: nothing else changes.
	allowMore := strings.Replace(configText(dev, sock, "", creds(dev)), fmt.Sprintf("uids = [%d]\n  }\n}", os.Getuid()), fmt.Sprintf("uids = [%d, 4242]\n  }\n}", os.Getuid()), 1)
	sum, err := fb.reload(t, allowMore)
	if err != nil || !slices.Equal(sum.Unchanged, []string{"anthropic"}) {
		t.Fatalf("allow-only reload: %+v %v", sum, err)
	}
	if got := fb.bearer(ctx, l); got != tok {
		t.Fatal("an allow-only identity change replaced the token")
	}

	// The allowed request hosts: the binding ends.
	sum, err = fb.reload(t, configText(dev, sock, `allowed_request_hosts = ["*.actions.githubusercontent.com"]`, creds(dev)))
	if err != nil || !slices.Equal(sum.Changed, []string{"anthropic"}) || sum.Revoked != 1 {
		t.Fatalf("hosts reload: %+v %v", sum, err)
	}
	if _, err := fb.tryBearer(ctx, l); !client.IsCode(err, api.CodeLeaseRevoked) {
		t.Fatalf("the job's lease after its binding ended: %v", err)
	}
	_, tok2 := fb.grant(ctx, "anthropic", "after")
	if run := dev.Anthropic.RunIDOf(tok2); run == "777" || run == "" {
		t.Fatalf("after the rebuild a lease got a token from run %q", run)
	}
}

// TestReloadWhileServing: header grants and listings run while reloads
// add and remove a credential again and again; the unchanged credential's
// grants never fail nor change token (run with -race: the server reads the
// credential set while reloads swap it).
func TestReloadWhileServing(t *testing.T) {
	var dev *devenv.Dev
	var sock string
	fb := startFileBroker(t, func(d *devenv.Dev, s string) string {
		dev, sock = d, s
		return configText(d, s, "", anthropicBlock(d, "steady", `hosts = ["api.anthropic.com"]`))
	})
	ctx := context.Background()
	l, tok := fb.grant(ctx, "steady", "steady")
	one := configText(dev, sock, "", anthropicBlock(dev, "steady", `hosts = ["api.anthropic.com"]`))
	two := one + staticBlock("flicker", `value_env = "`+devenv.KeyEnv+`"`)

	stop := make(chan struct{})
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := fb.tryBearer(ctx, l)
				if err == nil && got != tok {
					err = fmt.Errorf("the steady credential's token changed")
				}
				if err == nil {
					_, err = fb.client.Credentials(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		text := one
		if i%2 == 0 {
			text = two
		}
		if _, err := fb.reload(t, text); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestReloadShortensARacingRenew: a renew that arrives while the reload
// is shortening its lease waits for the reload's commit (it changes the
// lease inside LeaseChange, as the server's renew does) and then reads
// the new config, so the lease still ends within the new lease_ttl. The
// renew is made deterministic by starting it from the audit line of the
// reload's shortening, i.e. in the middle of the commit.
func TestReloadShortensARacingRenew(t *testing.T) {
	text := func(ttl string) *config.Config { return keyConfig(t, ttl) }
	clk := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	var racer func(msg string, args []any)
	d, err := New(Options{
		Config: text("1h"), Clock: clk, Version: "test",
		Lookup: func(k string) (string, bool) { return "sk-test-value", k == "KEY" },
		Logger: hookLogger{Logger: hclog.NewNullLogger(), onInfo: func(msg string, args []any) {
			if racer != nil {
				racer(msg, args)
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	old := d.creds.Load().ByName["key"].Info()
	oldCeiling := lease.Ceiling{Name: old.Name, Hosts: old.Hosts, MaxTTL: old.LeaseTTL, MaxLifetime: old.LeaseMaxLifetime}
	l, _, err := d.leases.Create(oldCeiling, api.CreateLeaseRequest{}, lease.Holder{Cred: peer.Cred{UID: uint32(os.Getuid())}})
	if err != nil {
		t.Fatal(err)
	}
	renewed := make(chan error, 1)
	started := false
	racer = func(msg string, args []any) {
		if started || msg != "lease renewed" || !slices.Contains(args, any(reasonReload)) {
			return
		}
		started = true
		go func() {
			renewed <- d.creds.LeaseChange(func() error {
				cr, _ := d.creds.Get("key")
				info := cr.Info()
				_, _, err := d.leases.Renew(l.ID, "", lease.Ceiling{Name: info.Name, Hosts: info.Hosts, MaxTTL: info.LeaseTTL, MaxLifetime: info.LeaseMaxLifetime})
				return err
			})
		}()
	}
	sum, err := d.Reload(text("5m"))
	if err != nil {
		t.Fatal(err)
	}
	if !started {
		t.Fatal("the reload did not shorten the lease, so nothing raced it")
	}
	if err := <-renewed; err != nil {
		t.Fatalf("the racing renew: %v", err)
	}
	if want := clk.Now().Add(5 * time.Minute); l.ExpiresAt().After(want) {
		t.Errorf("after a renew raced the reload, the lease expires at %v, after %v (the new lease_ttl)", l.ExpiresAt(), want)
	}
	if sum.Shortened == 0 {
		t.Errorf("summary %+v: no lease shortened", sum)
	}
}

// keyConfig is a config of one static credential "key" (value_env KEY)
// with the given lease_ttl, leasable by the test's uid.
func keyConfig(t *testing.T, ttl string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`socket {
  path = "/nonexistent/broker.sock"
}
credential "key" {
  provider  = "static"
  header    = "x-api-key"
  value_env = "KEY"
  hosts     = ["api.anthropic.com"]
  lease_ttl = %q
  allow {
    uids = [%d]
  }
}
`, ttl, os.Getuid())), "config.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReloadWaitsForALeaseChange: a renewal or creation reads the
// credential under lease_ttl 1h and is held before it changes the lease
// store; a reload to lease_ttl 5m runs until it ends or waits for it, and
// then the change lands. The lease still ends within the new lease_ttl:
// the reload's swap and re-check wait for a change that read the old
// config (catalog.Set.Exclusive, LeaseChange), so none lands after the
// re-check. The change does what serveRenew and serveCreateLease do.
func TestReloadWaitsForALeaseChange(t *testing.T) {
	holder := lease.Holder{Cred: peer.Cred{UID: uint32(os.Getuid())}}
	ceiling := func(cr server.Issuer) lease.Ceiling {
		info := cr.Info()
		return lease.Ceiling{Name: info.Name, Hosts: info.Hosts, MaxTTL: info.LeaseTTL, MaxLifetime: info.LeaseMaxLifetime}
	}
	for _, tc := range []struct {
		name   string
		change func(d *Daemon, id string, cr server.Issuer) (*lease.Lease, error)
	}{
		{"renew", func(d *Daemon, id string, cr server.Issuer) (*lease.Lease, error) {
			l, _, err := d.leases.Renew(id, "", ceiling(cr))
			return l, err
		}},
		{"create", func(d *Daemon, _ string, cr server.Issuer) (*lease.Lease, error) {
			l, _, err := d.leases.Create(ceiling(cr), api.CreateLeaseRequest{}, holder)
			return l, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
			d, err := New(Options{Config: keyConfig(t, "1h"), Clock: clk, Version: "test",
				Lookup: func(k string) (string, bool) { return "sk-test-value", k == "KEY" }})
			if err != nil {
				t.Fatal(err)
			}
			cr, _ := d.creds.Get("key")
			first, _, err := d.leases.Create(ceiling(cr), api.CreateLeaseRequest{}, holder)
			if err != nil {
				t.Fatal(err)
			}
			read, release := make(chan struct{}), make(chan struct{})
			changed := make(chan *lease.Lease, 1)
			go func() {
				var l *lease.Lease
				err := d.creds.LeaseChange(func() error {
					cr, _ := d.creds.Get("key")
					close(read)
					<-release
					var err error
					l, err = tc.change(d, first.ID, cr)
					return err
				})
				if err != nil {
					t.Errorf("the %s: %v", tc.name, err)
				}
				changed <- l
			}()
			<-read
			reloaded := make(chan struct{})
			go func() {
				defer close(reloaded)
				if _, err := d.Reload(keyConfig(t, "5m")); err != nil {
					t.Error(err)
				}
			}()
			waitExclusiveOrDone(reloaded)
			close(release)
			l := <-changed
			<-reloaded
			if l == nil {
				t.Fatal("no lease changed")
			}
			if want := clk.Now().Add(5 * time.Minute); l.ExpiresAt().After(want) {
				t.Errorf("after a %s that read lease_ttl 1h raced a reload to 5m, the lease expires at %v, after %v", tc.name, l.ExpiresAt(), want)
			}
		})
	}
}

// waitExclusiveOrDone returns once done is closed or a goroutine waits in
// catalog.Set.Exclusive for the lease changes to end: the state a reload
// or a registration reaches while a change that read the old config runs.
func waitExclusiveOrDone(done <-chan struct{}) {
	buf := make([]byte, 1<<20)
	for {
		select {
		case <-done:
			return
		default:
		}
		n := runtime.Stack(buf, true)
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			if bytes.Contains(g, []byte("sync.(*RWMutex).Lock")) && bytes.Contains(g, []byte("catalog.(*Set).Exclusive")) {
				return
			}
		}
		runtime.Gosched()
	}
}

// hookLogger calls onInfo with every Info line of it and its sub-loggers,
// outside any lock of the logger, so the hook may act on the daemon.
type hookLogger struct {
	hclog.Logger
	onInfo func(msg string, args []any)
}

func (h hookLogger) Info(msg string, args ...any) {
	h.onInfo(msg, args)
	h.Logger.Info(msg, args...)
}

func (h hookLogger) Named(name string) hclog.Logger {
	return hookLogger{Logger: h.Logger.Named(name), onInfo: h.onInfo}
}
