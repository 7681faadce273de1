package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
)

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "status", Short: "Show whether the broker is up and its credentials ready", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			defer c.Close()
			h, err := c.Health(cmd.Context())
			if err != nil {
				return err
			}
			r, err := c.Ready(cmd.Context())
			if err != nil {
				return err
			}
			creds, err := c.Credentials(cmd.Context())
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(g.env.stdout, struct {
					Health      *api.Health            `json:"health"`
					Ready       *api.Ready             `json:"ready"`
					Credentials []api.CredentialStatus `json:"credentials"`
				}{h, r, creds})
			}
			ready := "ready"
			if !r.Ready {
				ready = "not ready"
			}
			fmt.Fprintf(g.env.stdout, "broker %s (version %s) at %s: %s\n\n", h.Status, h.Version, g.socket, ready)
			return credTable(g, creds)
		}}
}

func credsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "creds [NAME]", Short: "List credentials, or show one", Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			if len(args) == 1 {
				cr, err := c.Credential(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return showCred(g, cr)
			}
			creds, err := c.Credentials(cmd.Context())
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(g.env.stdout, api.CredentialList{Credentials: creds})
			}
			return credTable(g, creds)
		}}
	cmd.AddCommand(&cobra.Command{Use: "refresh NAME", Short: "Force a credential's refresh now (admin)", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			cr, err := c.Refresh(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showCred(g, cr)
		}})
	return cmd
}

func credTable(g *globals, creds []api.CredentialStatus) error {
	now := g.env.now()
	rows := make([][]string, 0, len(creds))
	for _, c := range creds {
		rows = append(rows, []string{c.Name, c.Provider, c.State, human(c.ExpiresAt, now), human(c.NextRefreshAt, now),
			strconv.FormatUint(c.Refreshes, 10), strconv.FormatUint(c.Failures, 10), dash(c.LastErrorCode)})
	}
	return table(g.env.stdout, "NAME\tPROVIDER\tSTATE\tEXPIRES\tNEXT REFRESH\tREFRESHES\tFAILURES\tLAST ERROR", rows)
}

func showCred(g *globals, c *api.CredentialStatus) error {
	if g.output == "json" {
		return printJSON(g.env.stdout, c)
	}
	now := g.env.now()
	return table(g.env.stdout, "FIELD\tVALUE", [][]string{
		{"name", c.Name}, {"provider", c.Provider}, {"state", c.State},
		{"expires", human(c.ExpiresAt, now)}, {"next refresh", human(c.NextRefreshAt, now)}, {"last refresh", human(c.LastRefreshAt, now)},
		{"refreshes", strconv.FormatUint(c.Refreshes, 10)}, {"failures", strconv.FormatUint(c.Failures, 10)},
		{"last error", dash(c.LastError)}, {"hosts", strings.Join(c.Hosts, ", ")}, {"lease ttl", c.LeaseTTL},
	})
}
