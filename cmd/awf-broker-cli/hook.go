package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// The environment the runner's job hooks read; the runner passes them no
// arguments, so everything comes from the job's environment.
const (
	// hookIdentityEnv names the github-actions identity to bind (default "github").
	hookIdentityEnv = "AWF_BROKER_IDENTITY"
	// hookTimeoutEnv bounds the whole hook (a Go duration, default 10s),
	// so a wedged broker never hangs the runner.
	hookTimeoutEnv     = "AWF_BROKER_HOOK_TIMEOUT"
	defaultHookTimeout = 10 * time.Second
	requestURLEnv      = "ACTIONS_ID_TOKEN_REQUEST_URL"
	requestTokenEnv    = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// hookCmd is `hook job-started` and `hook job-completed`, the scripts of
// the runner's ACTIONS_RUNNER_HOOK_JOB_STARTED / _COMPLETED (DESIGN §7).
func hookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "hook", Short: "Runner job hooks: bind the job's identity at start, clear it at the end"}
	started := &cobra.Command{Use: "job-started", Short: "Register the job's ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (ACTIONS_RUNNER_HOOK_JOB_STARTED)", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runHook(cmd.Context(), g, jobStarted) }}
	completed := &cobra.Command{Use: "job-completed", Short: "Clear the job's identity: its leases revoked, its tokens purged (ACTIONS_RUNNER_HOOK_JOB_COMPLETED)", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runHook(cmd.Context(), g, jobCompleted) }}
	cmd.AddCommand(started, completed)
	return cmd
}

// hookKind says which hook runs.
type hookKind string

const (
	jobStarted   hookKind = "job-started"
	jobCompleted hookKind = "job-completed"
)

// hookEnv is what a hook reads from the job's environment.
type hookEnv struct {
	identity   string
	timeout    time.Duration
	requestURL string
	token      string
	// inJob reports whether the runner runs us for a job (GITHUB_ACTIONS).
	inJob bool
}

func readHookEnv(e env, kind hookKind) (hookEnv, error) {
	h := hookEnv{
		identity: strings.TrimSpace(e.getenv(hookIdentityEnv)), timeout: defaultHookTimeout,
		requestURL: e.getenv(requestURLEnv), token: e.getenv(requestTokenEnv),
		inJob: e.getenv("GITHUB_ACTIONS") == "true",
	}
	if h.identity == "" {
		h.identity = "github"
	}
	if v := e.getenv(hookTimeoutEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return h, usageError{fmt.Errorf("%s=%q is not a positive duration such as 10s", hookTimeoutEnv, v)}
		}
		h.timeout = d
	}
	if !h.inJob && h.requestURL == "" {
		return h, usageError{fmt.Errorf("not inside a GitHub Actions job: GITHUB_ACTIONS and %s are unset "+
			"(the runner runs this hook with the job's environment when %s names it)", requestURLEnv, hookVar(kind))}
	}
	return h, nil
}

func hookVar(k hookKind) string {
	if k == jobStarted {
		return "ACTIONS_RUNNER_HOOK_JOB_STARTED"
	}
	return "ACTIONS_RUNNER_HOOK_JOB_COMPLETED"
}

// runHook binds or clears the identity within the hook's time bound and
// prints one line for the job log. A job without id-token: write has no
// request URL: job-started then clears the identity, so nothing of an
// earlier job can serve this one.
func runHook(ctx context.Context, g *globals, kind hookKind) error {
	h, err := readHookEnv(g.env, kind)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	c := g.client()
	defer c.Close()
	var id *api.Identity
	bind := kind == jobStarted && h.requestURL != "" && h.token != ""
	if bind {
		id, err = c.RegisterIdentity(ctx, h.identity, api.IdentityRegistration{RequestURL: h.requestURL, RequestToken: h.token})
	} else {
		id, err = c.ClearIdentity(ctx, h.identity)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &client.UnreachableError{Socket: c.Socket(), Err: fmt.Errorf("no answer within %s (%s)", h.timeout, hookTimeoutEnv)}
		}
		return err
	}
	if g.output == "json" {
		return printJSON(g.env.stdout, id)
	}
	fmt.Fprintln(g.env.stdout, hookLine(kind, bind, id))
	return nil
}

// hookLine is the job log's line: the identity, its generation and the
// credentials bound or unbound; never the request token.
func hookLine(kind hookKind, bind bool, id *api.Identity) string {
	creds := "none"
	if len(id.Credentials) > 0 {
		creds = strings.Join(id.Credentials, ", ")
	}
	revoked := ""
	if id.LeasesRevoked > 0 {
		revoked = fmt.Sprintf("; %d lease(s) revoked", id.LeasesRevoked)
		if kind == jobStarted {
			revoked = fmt.Sprintf("; %d lease(s) of an earlier job revoked", id.LeasesRevoked)
		}
	}
	switch {
	case bind:
		return fmt.Sprintf("awf-broker: identity %s bound to this job (generation %d); credentials now bound: %s%s", id.Name, id.Generation, creds, revoked)
	case kind == jobStarted:
		return fmt.Sprintf("awf-broker: no %s/_TOKEN in the job (no id-token: write permission?); identity %s cleared (generation %d); no credentials bound%s",
			requestURLEnv, id.Name, id.Generation, revoked)
	default:
		return fmt.Sprintf("awf-broker: identity %s cleared (generation %d); credentials unbound: %s%s", id.Name, id.Generation, creds, revoked)
	}
}
