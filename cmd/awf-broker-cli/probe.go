package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
)

// errNotReady makes `probe ready` exit non-zero once its line is printed.
var errNotReady = errors.New("not ready")

// probeCmd is for container probes (Kubernetes exec probes, scripts):
// silent and exit 0 when the answer is yes, one line and non-zero when not.
func probeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "probe", Short: "Exit 0 when the broker is alive (live) or ready (ready), for container probes"}
	live := &cobra.Command{Use: "live", Short: "Exit 0 when the broker answers GET /v1/health", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			defer c.Close()
			h, err := c.Health(cmd.Context())
			if err != nil {
				return err
			}
			if h.Status != "ok" {
				return fmt.Errorf("broker health is %q", h.Status)
			}
			return nil
		}}
	var unboundOK bool
	ready := &cobra.Command{Use: "ready [--unbound-ok]", Short: "Exit 0 when GET /v1/ready says every credential is ready", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			defer c.Close()
			r, err := c.Ready(cmd.Context())
			if err != nil {
				return err
			}
			if r.Ready {
				return nil
			}
			var unbound map[string]bool
			if unboundOK {
				// /v1/ready carries no error codes; the credentials do.
				creds, err := c.Credentials(cmd.Context())
				if err != nil {
					return err
				}
				unbound = map[string]bool{}
				for _, cr := range creds {
					unbound[cr.Name] = cr.LastErrorCode == api.CodeNotRegistered
				}
			}
			var waiting []string
			for _, nr := range r.NotReady {
				if !unbound[nr.Credential] {
					waiting = append(waiting, nr.Credential+" ("+nr.State+")")
				}
			}
			if len(waiting) == 0 {
				return nil
			}
			fmt.Fprintf(g.env.stderr, "not ready: %s\n", strings.Join(waiting, ", "))
			return errNotReady
		}}
	ready.Flags().BoolVar(&unboundOK, "unbound-ok", false,
		"count credentials waiting for a job (their github-actions identity has none registered) as ready: a runner node between jobs")
	cmd.AddCommand(live, ready)
	return cmd
}
