package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
)

func headersCmd(g *globals) *cobra.Command {
	var secretFile, secretEnv, method, url, bodySHA string
	var hdrs []string
	cmd := &cobra.Command{Use: "headers LEASE_ID", Short: "Fetch the headers a lease grants for one request (values redacted)", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var secret string
			switch {
			case secretFile != "" && secretEnv != "":
				return usageError{fmt.Errorf("give one of --secret-file and --secret-env")}
			case secretFile != "":
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return usageError{fmt.Errorf("--secret-file: %w", err)}
				}
				secret = strings.TrimSpace(string(b))
			case secretEnv != "":
				secret = g.env.getenv(secretEnv)
				if secret == "" {
					return usageError{fmt.Errorf("--secret-env: %s is empty", secretEnv)}
				}
			default:
				return usageError{fmt.Errorf("the lease secret is required: --secret-file or --secret-env")}
			}
			req := &api.HeadersRequest{Method: strings.ToUpper(method), URL: url, BodySHA256: bodySHA, Headers: map[string]string{}}
			for _, h := range hdrs {
				k, v, ok := strings.Cut(h, "=")
				if !ok {
					return usageError{fmt.Errorf("--header %q: want name=value", h)}
				}
				req.Headers[strings.ToLower(k)] = v
			}
			c := g.client()
			defer c.Close()
			out, err := c.Headers(cmd.Context(), args[0], secret, req)
			if err != nil {
				return err
			}
			red := make(map[string]string, len(out.Set))
			for k, v := range out.Set {
				red[k] = redactValue(k, v)
			}
			if g.output == "json" {
				return printJSON(g.env.stdout, api.HeadersResponse{Set: red, Remove: out.Remove, ValidUntil: out.ValidUntil})
			}
			names := make([]string, 0, len(red))
			for k := range red {
				names = append(names, k)
			}
			sort.Strings(names)
			rows := make([][]string, 0, len(names)+len(out.Remove))
			for _, k := range names {
				rows = append(rows, []string{"set", k, red[k]})
			}
			for _, k := range out.Remove {
				rows = append(rows, []string{"remove", k, ""})
			}
			return table(g.env.stdout, "ACTION\tHEADER\tVALUE", rows)
		}}
	f := cmd.Flags()
	f.StringVar(&secretFile, "secret-file", "", "file holding the lease secret")
	f.StringVar(&secretEnv, "secret-env", "", "environment variable holding the lease secret")
	f.StringVar(&method, "method", "POST", "the request's method")
	f.StringVar(&url, "url", "", "the request's absolute URL")
	f.StringSliceVar(&hdrs, "header", nil, "a request header name=value (repeatable)")
	f.StringVar(&bodySHA, "body-sha256", "", "hex SHA-256 of the body (signing credentials)")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}
