package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
)

func identityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Register or clear a job's GitHub Actions identity"}
	var fromEnv bool
	register := &cobra.Command{Use: "register NAME --from-env", Short: "Register the job's ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !fromEnv {
				return usageError{fmt.Errorf("--from-env is required (the request URL and token come from the job's environment)")}
			}
			reg := api.IdentityRegistration{RequestURL: g.env.getenv(requestURLEnv), RequestToken: g.env.getenv(requestTokenEnv)}
			if reg.RequestURL == "" || reg.RequestToken == "" {
				return usageError{fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN must be set (does the job have permissions: id-token: write?)")}
			}
			c := g.client()
			defer c.Close()
			id, err := c.RegisterIdentity(cmd.Context(), args[0], reg)
			if err != nil {
				return err
			}
			return showIdentity(g, id)
		}}
	register.Flags().BoolVar(&fromEnv, "from-env", false, "read the request URL and token from the environment")
	clear := &cobra.Command{Use: "clear NAME", Short: "Forget a registration (purges its tokens, revokes its leases)", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			defer c.Close()
			id, err := c.ClearIdentity(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showIdentity(g, id)
		}}
	cmd.AddCommand(register, clear)
	return cmd
}

func showIdentity(g *globals, id *api.Identity) error {
	if g.output == "json" {
		return printJSON(g.env.stdout, id)
	}
	fmt.Fprintf(g.env.stdout, "identity %s: registered=%v generation=%d\n", id.Name, id.Registered, id.Generation)
	return nil
}
