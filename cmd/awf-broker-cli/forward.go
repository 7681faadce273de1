package main

import (
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
)

func forwardCmd(g *globals) *cobra.Command {
	var listen, credential, upstream, label string
	var routes []string
	var leaseTTL, maxWait time.Duration
	cmd := &cobra.Command{Use: "forward", Short: "Run the per-container forwarder the agent's SDK points at", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rs []forward.Route
			if listen != "" || credential != "" || upstream != "" {
				if listen == "" || credential == "" || upstream == "" {
					return usageError{fmt.Errorf("--listen, --credential and --upstream go together")}
				}
				addr, err := forward.ParseListen(listen)
				if err != nil {
					return usageError{err}
				}
				u, err := forward.ParseUpstream(upstream)
				if err != nil {
					return usageError{err}
				}
				rs = append(rs, forward.Route{Listen: addr, Credential: credential, Upstream: u})
			}
			for _, s := range routes {
				r, err := forward.ParseRoute(s)
				if err != nil {
					return usageError{err}
				}
				rs = append(rs, r)
			}
			if len(rs) == 0 {
				return usageError{fmt.Errorf("nothing to forward: give --listen/--credential/--upstream or --route")}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// The forwarder's broker calls are bounded by --max-wait, not --timeout.
			c := client.New(g.socket, client.WithUserAgent("awf-broker-forward/"+version))
			defer c.Close()
			logger := slog.New(slog.NewTextHandler(g.env.stderr, nil))
			return forward.Run(ctx, forward.RunConfig{
				Client: c, Routes: rs, Label: label, LeaseTTL: leaseTTL, MaxWait: maxWait, Logger: logger,
				Listening: func(r forward.Route, addr net.Addr) {
					fmt.Fprintf(g.env.stdout, "forwarding http://%s → %s (credential %s)\n", addr, r.Upstream, r.Credential)
				},
			})
		}}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "HOST:PORT to listen on")
	f.StringVar(&credential, "credential", "", "credential to lease")
	f.StringVar(&upstream, "upstream", "", "upstream base URL")
	f.StringArrayVar(&routes, "route", nil, "PORT=CREDENTIAL=URL (repeatable)")
	f.StringVar(&label, "label", "", "label recorded on the leases")
	f.DurationVar(&leaseTTL, "lease-ttl", 0, "lease lifetime to ask for (default: the credential's)")
	f.DurationVar(&maxWait, "max-wait", 10*time.Second, "how long a request may wait for the broker")
	return cmd
}
