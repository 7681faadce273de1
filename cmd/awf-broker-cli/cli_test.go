package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func tp(d time.Duration) *time.Time { t := now.Add(d); return &t }

// stub is a canned broker; its secret and token are minted per run.
type stub struct {
	secret, token string
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

const leaseID = "6f1c2a9e-3b7d-4c1e-9a55-2d8e4f6b7c10"

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cred := api.CredentialStatus{Name: "anthropic", Provider: "anthropic", State: "ready", ExpiresAt: tp(41 * time.Minute), NextRefreshAt: tp(26 * time.Minute),
		LastRefreshAt: tp(-19 * time.Minute), Refreshes: 3, Hosts: []string{"api.anthropic.com"}, LeaseTTL: "15m0s"}
	static := api.CredentialStatus{Name: "anthropic-key", Provider: "static", State: "ready", LastRefreshAt: tp(-2 * time.Hour), Refreshes: 1, Hosts: []string{"api.anthropic.com"}, LeaseTTL: "15m0s"}
	lease := api.Lease{ID: leaseID, Credential: "anthropic", Scope: api.Scope{Hosts: []string{"api.anthropic.com"}}, Bind: "process", State: "active",
		Holder:    api.Holder{UID: 1001, GID: 1001, PID: 4242, Label: "agent-7", Container: strings.Repeat("ab12", 16)},
		CreatedAt: now.Add(-5 * time.Minute), ExpiresAt: now.Add(10 * time.Minute), Requests: 17}
	out := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/health":
		out(200, api.Health{Status: "ok", Version: "1.2.3"})
	case "GET /v1/ready":
		out(200, api.Ready{Ready: true, NotReady: []api.NotReadyEntry{}})
	case "GET /v1/credentials":
		out(200, api.CredentialList{Credentials: []api.CredentialStatus{cred, static}})
	case "GET /v1/credentials/anthropic":
		out(200, cred)
	case "GET /v1/leases":
		out(200, api.LeaseList{Leases: []api.Lease{lease}})
	case "POST /v1/leases":
		out(201, api.CreatedLease{Lease: lease, Secret: s.secret})
	case "GET /v1/leases/" + leaseID:
		out(200, lease)
	case "POST /v1/leases/" + leaseID + "/headers":
		if r.Header.Get("Authorization") != "Bearer "+s.secret {
			w.Header().Set("Content-Type", api.ProblemContentType)
			w.WriteHeader(401)
			json.NewEncoder(w).Encode(api.Problem{Title: "Unauthenticated", Status: 401, Code: "unauthenticated", Detail: "wrong lease secret"})
			return
		}
		out(200, api.HeadersResponse{Set: map[string]string{"authorization": "Bearer " + s.token, "anthropic-beta": "oauth-2025-04-20", "anthropic-version": "2023-06-01"},
			Remove: []string{"x-api-key"}, ValidUntil: now.Add(10 * time.Minute)})
	default:
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.WriteHeader(404)
		json.NewEncoder(w).Encode(api.Problem{Title: "Unknown credential", Status: 404, Code: "unknown_credential", Detail: `no credential "nope"`})
	}
}

func startStub(t *testing.T) (string, *stub) {
	t.Helper()
	s := &stub{secret: "awfl_" + random(), token: "sk-ant-oat01-" + random()}
	sock := filepath.Join(t.TempDir(), "b.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock, s
}

func runCLI(sock string, env map[string]string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	e := env2(env)
	code := execute(context.Background(), envOf(&out, &errb, e), append([]string{"--socket", sock}, args...))
	return out.String(), errb.String(), code
}

func env2(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func envOf(out, errb *bytes.Buffer, get func(string) string) env {
	return env{stdout: out, stderr: errb, getenv: get, now: func() time.Time { return now }}
}

func TestGolden(t *testing.T) {
	sock, s := startStub(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(s.secret+"\n"), 0o600)
	cases := []struct {
		name     string
		args     []string
		code     int
		inStdout string // for outputs holding per-run values, instead of a golden
	}{
		{"status", []string{"status"}, 0, ""},
		{"status-json", []string{"-o", "json", "status"}, 0, ""},
		{"creds", []string{"creds"}, 0, ""},
		{"creds-one", []string{"creds", "anthropic"}, 0, ""},
		{"creds-json", []string{"creds", "-o", "json"}, 0, ""},
		{"leases", []string{"leases"}, 0, ""},
		{"leases-json", []string{"leases", "-o", "json"}, 0, ""},
		{"lease-show", []string{"lease", "show", leaseID}, 0, ""},
		{"headers", []string{"headers", leaseID, "--secret-file", secretFile, "--url", "https://api.anthropic.com/v1/messages"}, 0, ""},
		{"headers-json", []string{"-o", "json", "headers", leaseID, "--secret-file", secretFile, "--url", "https://api.anthropic.com/v1/messages"}, 0, ""},
		{"refused", []string{"creds", "nope"}, 1, ""},
		{"usage", []string{"creds", "a", "b"}, 2, ""},
		{"usage-output", []string{"-o", "yaml", "creds"}, 2, ""},
	}
	var all strings.Builder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(sock, nil, c.args...)
			all.WriteString(stdout + stderr)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, c.code, stderr)
			}
			got := strings.ReplaceAll(stdout+stderr, sock, "SOCKET")
			golden := filepath.Join("../../testdata/cli", c.name+".golden")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, got)
			}
		})
	}
	// The lease secret is printed by lease create, once, and by nothing else.
	stdout, _, code := runCLI(sock, nil, "lease", "create", "anthropic", "--label", "agent-7")
	if code != 0 || strings.Count(stdout, s.secret) != 1 || !strings.Contains(stdout, "shown once") {
		t.Fatalf("lease create: exit %d, secret shown %d times:\n%s", code, strings.Count(stdout, s.secret), stdout)
	}
	for _, secret := range []string{s.secret, s.token} {
		if strings.Contains(all.String(), secret) {
			t.Fatalf("a secret appeared in the output of another command")
		}
	}
}

func TestUnreachable(t *testing.T) {
	_, stderr, code := runCLI(filepath.Join(t.TempDir(), "none.sock"), nil, "status")
	if code != exitUnreachable || !strings.Contains(stderr, "cannot reach the broker") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestIdentityRegisterNeedsEnv(t *testing.T) {
	sock, _ := startStub(t)
	_, stderr, code := runCLI(sock, nil, "identity", "register", "github", "--from-env")
	// docs/anthropic.md quotes this line for a job without id-token: write.
	const want = "error: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN must be set (does the job have permissions: id-token: write?)\n"
	if code != exitUsage || stderr != want {
		t.Fatalf("exit %d: %q, want exit %d: %q", code, stderr, exitUsage, want)
	}
}

func TestHuman(t *testing.T) {
	cases := map[time.Duration]string{41 * time.Minute: "in 41m", -3 * time.Minute: "3m ago", 123 * time.Minute: "in 2h3m", 45 * time.Second: "in 45s", 72 * time.Hour: "in 3d"}
	for d, want := range cases {
		if got := human(tp(d), now); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
	if human(nil, now) != "never" {
		t.Error("nil time")
	}
}
