package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// ErrPortsOutOfRange is RunSidecar's error when a port of the sidecar would
// fall outside 1-65535.
var ErrPortsOutOfRange = errors.New("out of range (1-65535)")

// SidecarConfig configures RunSidecar: what `awf-broker-cli sidecar` was
// asked for. The sidecar is a drop-in for the gh-aw api-proxy (DESIGN §6).
type SidecarConfig struct {
	// Client talks to the broker. Required.
	Client *client.Client
	// Bind is the host to listen on; default "0.0.0.0".
	Bind string
	// BasePort is the openai port; the others follow it. Default
	// SidecarBasePort (the CLI's --port-offset adds to it).
	BasePort int
	// Credentials serves a provider name's port with a credential of
	// another name (the CLI's --credential openai=bedrock).
	Credentials map[string]string
	// Upstreams overrides the upstream of a provider name.
	Upstreams map[string]*url.URL
	// Advertise is the host /reflect puts in base_url; default "api-proxy",
	// the api-proxy's compose service name.
	Advertise string
	// Label is recorded on every lease.
	Label string
	// LeaseTTL is the lease lifetime to ask for; 0 means the credential's default.
	LeaseTTL time.Duration
	// MaxWait bounds how long a request waits for the broker; 0 means
	// DefaultMaxWait. It also bounds the wait for the broker at start.
	MaxWait time.Duration
	// Logger receives lease events and failures; nil discards.
	Logger *slog.Logger
	// Listening, when set, is called once per port with its provider name,
	// credential and bound address and upstream (credential "" and upstream
	// nil for the management-only port 10000).
	Listening func(name, credential string, addr net.Addr, upstream *url.URL)
}

// RunSidecar lists the credentials the caller may lease, opens the
// api-proxy's port of each (and always the openai port, for /health and
// /reflect), then acquires the leases and serves until ctx ends. Nothing
// is served when any port cannot be opened or planned: no partial start.
// It returns nil when ctx ends, or the first error that stops a port (a
// lease the broker refuses for good, naming the port and credential).
func RunSidecar(ctx context.Context, sc SidecarConfig) error {
	if sc.Client == nil {
		return errors.New("sidecar: SidecarConfig.Client is required")
	}
	if sc.BasePort == 0 {
		sc.BasePort = SidecarBasePort
	}
	if n := len(api.APIProxyProviders()); sc.BasePort < 1 || sc.BasePort+n-1 > 65535 {
		return fmt.Errorf("sidecar: ports %d-%d: %w", sc.BasePort, sc.BasePort+n-1, ErrPortsOutOfRange)
	}
	if sc.Bind == "" {
		sc.Bind = "0.0.0.0"
	}
	if sc.Advertise == "" {
		sc.Advertise = "api-proxy"
	}
	if sc.MaxWait == 0 {
		sc.MaxWait = DefaultMaxWait
	}
	logger := sc.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	creds, err := listCredentials(ctx, sc.Client, sc.MaxWait)
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	routes, err := planSidecar(creds, sc.BasePort, sc.Credentials, sc.Upstreams)
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}

	s := &sidecar{client: sc.Client, routes: routes, advertise: sc.Advertise, fwds: map[string]*Forwarder{}, credOf: map[string]string{}}
	ports := make([]port, len(routes))
	for i, r := range routes {
		cred := ""
		if r.cred != nil {
			cred = r.cred.Name
		}
		ports[i] = port{
			addr:    net.JoinHostPort(sc.Bind, strconv.Itoa(r.port)),
			name:    fmt.Sprintf("port %d (%s)", r.port, r.name),
			handler: func(f *Forwarder) http.Handler { return s.handler(r, f) },
			refused: func(err error) error {
				return fmt.Errorf("sidecar: port %d: no lease on credential %q: %w", r.port, cred, err)
			},
			logger: logger.With("port", r.port),
		}
		if r.cred != nil {
			ports[i].cfg = &Config{
				Client: sc.Client, Credential: cred, Upstream: r.upstream, Label: sc.Label,
				LeaseTTL: sc.LeaseTTL, MaxWait: sc.MaxWait, Provider: r.errShape, DedupeBasePath: true, DropQueryParams: r.dropQuery,
				Logger: logger.With("port", r.port),
			}
		}
	}
	ls, err := openAll(ports)
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	for i, r := range routes {
		f := ls[i].fwd
		if f != nil {
			s.fwds[r.name], s.credOf[r.name] = f, r.cred.Name
		}
		if sc.Listening != nil {
			sc.Listening(r.name, s.credOf[r.name], ls[i].ln.Addr(), r.upstream)
		}
		logger.Info("sidecar port open", "port", r.port, "provider", r.name, "forwarding", f != nil)
	}
	return serveAll(ctx, ls, logger)
}

// listCredentials asks the broker for the credentials the caller may
// lease, retrying while it is unreachable, up to wait.
func listCredentials(ctx context.Context, c *client.Client, wait time.Duration) ([]api.CredentialStatus, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for attempt := 0; ; attempt++ {
		creds, err := c.Credentials(wctx)
		if err == nil {
			return creds, nil
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// No answer within the wait, as the job hooks say it: a
			// broker that is absent or wedged is unreachable.
			err = &client.UnreachableError{Socket: c.Socket(), Err: fmt.Errorf("no answer within %s (--max-wait)", wait)}
		}
		if !client.IsUnreachable(err) || !sleep(wctx, backoff(attempt, 50*time.Millisecond, time.Second, rand.Float64())) {
			return nil, fmt.Errorf("list the credentials this caller may lease: %w", err)
		}
	}
}

// sidecar is the running sidecar's shared state, read by /health and /reflect.
type sidecar struct {
	client    *client.Client
	routes    []sidecarRoute
	advertise string
	fwds      map[string]*Forwarder // by provider name; read-only once serving
	credOf    map[string]string     // provider name → credential name
}

// handler answers /health (every port) and /reflect (the openai port)
// itself and forwards the rest; the openai port without a credential
// answers 404 like the api-proxy's unconfigured provider.
func (s *sidecar) handler(r sidecarRoute, f *Forwarder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && req.URL.Host == "" {
			switch {
			case req.URL.Path == "/health":
				s.serveHealth(w, req, r)
				return
			case req.URL.Path == "/reflect" && r.port == s.routes[0].port:
				s.serveReflect(w)
				return
			}
		}
		if f == nil {
			writeJSONBody(w, http.StatusNotFound, map[string]string{
				"error": "OpenAI proxy not configured (awf-broker lets this sidecar lease no credential named \"openai\")",
			})
			return
		}
		f.ServeHTTP(w, req)
	})
}
