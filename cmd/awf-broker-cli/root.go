package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// globals are the flags every command shares.
type globals struct {
	env     env
	socket  string
	output  string
	timeout time.Duration
}

func (g *globals) client() *client.Client {
	return client.New(g.socket, client.WithTimeout(g.timeout), client.WithUserAgent("awf-broker-cli/"+version))
}

func newRootCmd(e env) *cobra.Command {
	g := &globals{env: e}
	defSocket := e.getenv(api.SocketEnv)
	if defSocket == "" {
		defSocket = api.DefaultSocket
	}
	root := &cobra.Command{
		Use:           "awf-broker-cli",
		Short:         "Inspect and manage awf-broker credentials and leases",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if g.output != "table" && g.output != "json" {
				return usageError{fmt.Errorf("-o must be table or json, not %q", g.output)}
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&g.socket, "socket", defSocket, "broker socket path ($"+api.SocketEnv+")")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.PersistentFlags().DurationVar(&g.timeout, "timeout", 30*time.Second, "timeout of each call")
	root.AddCommand(statusCmd(g), credsCmd(g), leasesCmd(g), leaseCmd(g), headersCmd(g), identityCmd(g), hookCmd(g), probeCmd(g),
		watchCmd(g), forwardCmd(g), sidecarCmd(g), versionCmd(g))
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func isFlagError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unknown flag") || strings.Contains(msg, "unknown command") ||
		strings.Contains(msg, "unknown shorthand flag") || errors.As(err, new(usageError))
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the CLI's version", Args: exactArgs(0), RunE: func(cmd *cobra.Command, _ []string) error {
		fmt.Fprintln(g.env.stdout, "awf-broker-cli", version)
		return nil
	}}
}
