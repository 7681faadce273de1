package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
)

func leasesCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "leases", Short: "List leases (admins see all, others their own)", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			defer c.Close()
			leases, err := c.Leases(cmd.Context())
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(g.env.stdout, api.LeaseList{Leases: leases})
			}
			now := g.env.now()
			rows := make([][]string, 0, len(leases))
			for _, l := range leases {
				exp := l.ExpiresAt
				ctr := l.Holder.Container
				if ctr != "" {
					ctr = ctr[:min(12, len(ctr))]
				}
				rows = append(rows, []string{l.ID, l.Credential, strconv.FormatUint(uint64(l.Holder.UID), 10),
					strconv.FormatUint(uint64(l.Holder.GID), 10), strconv.FormatInt(int64(l.Holder.PID), 10), dash(ctr),
					dash(l.Holder.Label), strings.Join(l.Scope.Hosts, ","), human(&exp, now), strconv.FormatUint(l.Requests, 10), l.State})
			}
			return table(g.env.stdout, "ID\tCREDENTIAL\tUID\tGID\tPID\tCONTAINER\tLABEL\tHOSTS\tEXPIRES\tREQUESTS\tSTATE", rows)
		}}
}

func leaseCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "lease", Short: "Create, show, renew or revoke a lease"}
	var req api.CreateLeaseRequest
	create := &cobra.Command{Use: "create CREDENTIAL", Short: "Create a lease; prints its secret once", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			req.Credential = args[0]
			l, err := c.CreateLease(cmd.Context(), req)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(g.env.stdout, l)
			}
			if err := showLease(g, &l.Lease); err != nil {
				return err
			}
			fmt.Fprintf(g.env.stdout, "\nsecret: %s\n(shown once; the broker keeps only its hash)\n", l.Secret)
			return nil
		}}
	f := create.Flags()
	f.StringVar(&req.TTL, "ttl", "", "lease lifetime, e.g. 10m (default: the credential's lease_ttl)")
	f.StringSliceVar(&req.Hosts, "host", nil, "narrow the scope to this host (repeatable)")
	f.StringSliceVar(&req.Methods, "method", nil, "narrow the scope to this method (repeatable)")
	f.StringSliceVar(&req.PathPrefixes, "path-prefix", nil, "narrow the scope to this path prefix (repeatable)")
	f.StringVar(&req.Label, "label", "", "a label shown in listings")
	f.StringVar(&req.Bind, "bind", "", "uid (default) or process")

	show := &cobra.Command{Use: "show ID", Short: "Show a lease", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			l, err := c.Lease(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showLease(g, l)
		}}
	var ttl string
	renew := &cobra.Command{Use: "renew ID", Short: "Extend a lease", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			l, err := c.RenewLease(cmd.Context(), args[0], ttl)
			if err != nil {
				return err
			}
			return showLease(g, l)
		}}
	renew.Flags().StringVar(&ttl, "ttl", "", "new lifetime from now (default: the lease's own)")
	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke a lease", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			l, err := c.RevokeLease(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showLease(g, l)
		}}
	cmd.AddCommand(create, show, renew, revoke)
	return cmd
}

func showLease(g *globals, l *api.Lease) error {
	if g.output == "json" {
		return printJSON(g.env.stdout, l)
	}
	exp := l.ExpiresAt
	scope := strings.Join(l.Scope.Hosts, ", ")
	if len(l.Scope.Methods) > 0 {
		scope += " methods " + strings.Join(l.Scope.Methods, ",")
	}
	if len(l.Scope.PathPrefixes) > 0 {
		scope += " paths " + strings.Join(l.Scope.PathPrefixes, ",")
	}
	return table(g.env.stdout, "FIELD\tVALUE", [][]string{
		{"id", l.ID}, {"credential", l.Credential}, {"state", l.State}, {"scope", scope}, {"bind", l.Bind},
		{"holder", fmt.Sprintf("uid %d gid %d pid %d %s", l.Holder.UID, l.Holder.GID, l.Holder.PID, l.Holder.Label)},
		{"container", dash(l.Holder.Container)}, {"expires", human(&exp, g.env.now())}, {"requests", strconv.FormatUint(l.Requests, 10)},
	})
}
