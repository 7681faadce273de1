package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// TestIdentityAgainstTheDaemon runs `identity register --from-env` and
// `identity clear` against a real daemon and fakes, as a job step would:
// the registration takes effect (tokens come from the job's JWTs), clear
// revokes the job's leases, and the request token never reaches the output.
func TestIdentityAgainstTheDaemon(t *testing.T) {
	dev, sock := startDaemon(t, nil)
	ctx := context.Background()

	job := dev.GitHub.AddJob("5150")
	env := map[string]string{requestURLEnv: dev.GitHub.RequestURL(), requestTokenEnv: job.Reveal()}
	stdout, stderr, code := runCLI(sock, env, "-o", "json", "identity", "register", "github", "--from-env")
	if code != 0 {
		t.Fatalf("register: exit %d: %s", code, stderr)
	}
	var id api.Identity
	if err := json.Unmarshal([]byte(stdout), &id); err != nil || !id.Registered || id.Name != "github" {
		t.Fatalf("register printed %q (%v)", stdout, err)
	}
	if strings.Contains(stdout+stderr, job.Reveal()) {
		t.Fatal("the request token was printed")
	}

	c := client.New(sock)
	defer c.Close()
	l, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
	if err != nil {
		t.Fatal(err)
	}
	if run := dev.Anthropic.RunIDOf(strings.TrimPrefix(h.Set["authorization"], "Bearer ")); run != "5150" {
		t.Fatalf("token minted for run %q, want the registered job's 5150", run)
	}

	stdout, stderr, code = runCLI(sock, nil, "identity", "clear", "github")
	if code != 0 || !strings.Contains(stdout, "identity github: registered=false") {
		t.Fatalf("clear: exit %d: %s%s", code, stdout, stderr)
	}
	if _, err := c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"}); !client.IsCode(err, api.CodeLeaseRevoked) {
		t.Fatalf("lease after clear: %v, want lease_revoked", err)
	}
	_, stderr, code = runCLI(sock, env, "identity", "register", "nope", "--from-env")
	if code != 1 || !strings.Contains(stderr, "unknown_identity") {
		t.Fatalf("unknown identity: exit %d: %s", code, stderr)
	}
}
