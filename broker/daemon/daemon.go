// Package daemon is the composition root: it turns a config into the
// broker's parts (identities, providers, token caches, lease store, API
// server), runs them, and stops them. Only this package reads config.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/access"
	"github.com/awf-broker/awf-broker/broker/catalog"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/observe"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/broker/server"
)

// ErrSocketGone is the cause Run stops with when its socket file was
// deleted or replaced while serving (peer.ErrSocketGone).
var ErrSocketGone = peer.ErrSocketGone

// Options configures a daemon.
type Options struct {
	Config *config.Config
	Logger hclog.Logger
	Clock  clock.Clock
	// Version is reported by /v1/health.
	Version string
	// Lookup reads the environment (default os.LookupEnv): static values
	// and ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN.
	Lookup func(string) (string, bool)
	// HTTP is the client for exchanges (default provider.NewHTTPClient).
	HTTP *http.Client
	// Listener, when set, is served instead of creating the socket
	// (an inherited, socket-activated listener).
	Listener net.Listener
	// ConfigPath is the file Config was read from, if any; ReloadFile
	// re-reads it with config.Load, which applies the file-trust rule.
	ConfigPath string
	// Override, when set, adjusts every config read from ConfigPath by a
	// reload (the command line's --socket and --log-level win).
	Override func(*config.Config)
}

// Daemon is a running broker.
type Daemon struct {
	opts   Options
	cfg    atomic.Pointer[config.Config] // swapped by a reload
	pol    atomic.Pointer[access.Policy] // the config's, swapped with it
	log    hclog.Logger
	uid    uint32
	creds  *catalog.Set
	leases *lease.Store
	ids    *catalog.Identities
	server *server.Server
	obs    *observe.Observer // events and metrics

	firstRound chan struct{}

	// mu serializes reloads, identity registrations and the start of the
	// refresh loops.
	mu sync.Mutex
	// loops is the parent context of the refresh loops while Run runs
	// (nil before), and loopsWG counts them.
	loops   context.Context
	loopsWG sync.WaitGroup
}

// New builds the daemon's parts; it starts nothing.
func New(opts Options) (*Daemon, error) {
	if opts.Config == nil {
		return nil, errors.New("daemon: no config")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	d := &Daemon{opts: opts, log: opts.Logger, uid: uint32(os.Getuid()), firstRound: make(chan struct{}), creds: &catalog.Set{}}
	d.cfg.Store(opts.Config)
	d.pol.Store(policyOf(opts.Config, d.uid))
	pol := &d.pol
	d.obs = observe.New(observe.Config{Version: opts.Version, Clock: opts.Clock, Logger: opts.Logger, Credentials: d.creds, Policy: pol.Load,
		ActiveLeases: func() map[string]int { return d.leases.ActiveByCredential() }})
	d.leases = lease.New(lease.Config{Clock: opts.Clock, Logger: opts.Logger, OnEvent: d.obs.Publish,
		Admit: func(c peer.Cred, held int) error { return pol.Load().MayAddLease(c, held) }})
	d.ids = catalog.NewIdentities(catalog.IdentitiesConfig{Mu: &d.mu, Credentials: d.creds, Leases: d.leases, Announce: d.obs.IdentityChanged})
	if err := d.build(); err != nil {
		return nil, err
	}
	d.server = server.New(server.Config{
		Credentials: d.creds, Leases: d.leases, Policy: d.pol.Load, Identities: d.ids,
		Version: opts.Version, Logger: opts.Logger, Clock: opts.Clock,
		Events: d.obs.Events(), Metrics: d.obs.Metrics().Handler(), OnGrant: d.obs.Metrics().Grant,
	})
	return d, nil
}

// config returns the current config.
func (d *Daemon) config() *config.Config { return d.cfg.Load() }

// Publish sends an event to the subscribers of GET /v1/events (a reload,
// for one) and returns it numbered. It never blocks.
func (d *Daemon) Publish(ev api.Event) api.Event { return d.obs.Bus().Publish(ev) }

// MetricsAddr returns the TCP metrics listener's address, nil when there
// is none (or Run has not opened it yet).
func (d *Daemon) MetricsAddr() net.Addr { return d.obs.ListenAddr() }

// Handler returns the API handler (for in-process tests).
func (d *Daemon) Handler() http.Handler { return d.server.Handler() }

// Leases returns the lease store.
func (d *Daemon) Leases() *lease.Store { return d.leases }

// FirstRound is closed once every credential's first exchange has ended,
// in success or failure (sd_notify READY waits for it).
func (d *Daemon) FirstRound() <-chan struct{} { return d.firstRound }

// Run serves until ctx ends, then drains in-flight requests and stops
// every refresh loop before returning.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := d.config()
	stopObserve, err := d.obs.Start(cfg.Metrics.Listen)
	if err != nil {
		return err
	}
	defer stopObserve()
	l := d.opts.Listener
	if l == nil {
		gid, err := lookupGroup(cfg.Socket.Group)
		if err != nil {
			return err
		}
		if l, err = peer.Listen(cfg.Socket.Path, cfg.Socket.Mode, gid); err != nil {
			return err
		}
	} else {
		var err error
		if l, err = peer.FromListener(l); err != nil {
			return err
		}
	}
	loops, stopLoops := context.WithCancel(context.Background())
	d.mu.Lock()
	d.loops = loops
	creds := d.creds.Load()
	for _, c := range creds.ByName {
		d.startLoopLocked(c)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.leases.Run(loops) }()
	wg.Add(1)
	go func() { defer wg.Done(); d.awaitFirstRound(loops) }()

	ctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	if w := d.watchSocket(l); w != nil {
		wg.Add(1)
		// Until serving ends: closing the listener removes the file.
		go func() { defer wg.Done(); w.Run(ctx, lost) }()
	}

	d.log.Info("serving", "socket", l.Addr().String(), "credentials", len(creds.ByName), "version", d.opts.Version)
	err = d.server.Serve(ctx, l)
	if cause := context.Cause(ctx); err == nil && errors.Is(cause, ErrSocketGone) {
		err = cause
	}
	lost(nil) // stops the socket watch when Serve ended on its own
	d.mu.Lock()
	stopLoops()
	d.mu.Unlock()
	wg.Wait()
	d.loopsWG.Wait()
	d.log.Info("stopped")
	return err
}

// watchSocket returns the watch of the socket file Run created, nil for an
// inherited listener (its file belongs to the service manager).
func (d *Daemon) watchSocket(l net.Listener) *peer.SocketWatch {
	if d.opts.Listener != nil {
		return nil
	}
	return peer.NewSocketWatch(d.config().Socket.Path, l, d.log)
}

// startLoopLocked starts c's refresh loop when Run is running; d.mu is
// held. A loop started after Run has begun stopping returns at once.
func (d *Daemon) startLoopLocked(c *catalog.Entry) {
	if d.loops == nil {
		return
	}
	c.Start(d.loops, &d.loopsWG)
}

// awaitFirstRound closes firstRound once no credential is pending.
func (d *Daemon) awaitFirstRound(ctx context.Context) {
	defer close(d.firstRound)
	for {
		pending := false
		for _, c := range d.creds.Load().ByName {
			if c.Pending() {
				pending = true
				break
			}
		}
		if !pending {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func lookupGroup(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("socket group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}
