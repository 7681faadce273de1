package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
)

func sidecarCmd(g *globals) *cobra.Command {
	var bind, label, advertise string
	var offset int
	var upstreams, credentials []string
	var leaseTTL, maxWait time.Duration
	cmd := &cobra.Command{
		Use:   "sidecar",
		Short: "Serve the gh-aw api-proxy's ports (10000-10004) for the credentials you may lease",
		Long: `Drop-in for the gh-aw api-proxy sidecar: port 10000 openai (and cloud OIDC),
10001 anthropic, 10002 copilot, 10003 gemini, 10004 vertex (each plus --port-offset),
one per credential of that name the caller may lease, forwarding to the
credential's target. Every port answers GET /health; port 10000 also GET /reflect.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if offset < 0 {
				return usageError{fmt.Errorf("--port-offset %d: must not be negative", offset)}
			}
			ups := map[string]*url.URL{}
			for _, s := range upstreams {
				name, u, err := forward.ParseSidecarUpstream(s)
				if err != nil {
					return usageError{err}
				}
				if ups[name] != nil {
					return usageError{fmt.Errorf("--upstream %s given twice", name)}
				}
				ups[name] = u
			}
			creds := map[string]string{}
			for _, s := range credentials {
				name, cred, err := forward.ParseSidecarCredential(s)
				if err != nil {
					return usageError{err}
				}
				if creds[name] != "" {
					return usageError{fmt.Errorf("--credential %s given twice", name)}
				}
				creds[name] = cred
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			c := client.New(g.socket, client.WithUserAgent("awf-broker-sidecar/"+version))
			defer c.Close()
			err := forward.RunSidecar(ctx, forward.SidecarConfig{
				Client: c, Bind: bind, BasePort: forward.SidecarBasePort + offset, Credentials: creds, Upstreams: ups,
				Advertise: advertise, Label: label, LeaseTTL: leaseTTL, MaxWait: maxWait,
				Logger: slog.New(slog.NewTextHandler(g.env.stderr, nil)),
				Listening: func(name, cred string, addr net.Addr, up *url.URL) {
					if up == nil {
						fmt.Fprintf(g.env.stdout, "serving http://%s (%s: /health and /reflect only; no credential)\n", addr, name)
						return
					}
					fmt.Fprintf(g.env.stdout, "forwarding http://%s → %s (credential %s)\n", addr, up, cred)
				},
			})
			if errors.Is(err, forward.ErrPortsOutOfRange) {
				return usageError{fmt.Errorf("--port-offset %d: %w", offset, err)}
			}
			return err
		}}
	f := cmd.Flags()
	f.StringVar(&bind, "bind", "0.0.0.0", "address to listen on")
	f.IntVar(&offset, "port-offset", 0, "added to every port (10000+N …)")
	f.StringArrayVar(&credentials, "credential", nil, "NAME=CREDENTIAL: serve NAME's port with a credential of another name, e.g. openai=bedrock (repeatable)")
	f.StringArrayVar(&upstreams, "upstream", nil, "NAME=URL: forward NAME's port to URL instead of the credential's target (repeatable)")
	f.StringVar(&advertise, "advertise", "api-proxy", "host name /reflect puts in base_url")
	f.StringVar(&label, "label", "sidecar", "label recorded on the leases")
	f.DurationVar(&leaseTTL, "lease-ttl", 0, "lease lifetime to ask for (default: the credential's)")
	f.DurationVar(&maxWait, "max-wait", 10*time.Second, "how long a request (and the start) may wait for the broker")
	return cmd
}
