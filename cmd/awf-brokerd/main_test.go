package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCheckConfigEnv: a bare --check-config checks the environment,
// prints what it builds and the notes, never a key, and exits 2 on bad input.
func TestCheckConfigEnv(t *testing.T) {
	const key = "sk-placeholder-must-not-print"
	t.Setenv("ANTHROPIC_API_KEY", key)
	t.Setenv("AWF_AUTH_TYPE", "api-key")
	t.Setenv("GEMINI_API_KEY", key)
	var out, errb bytes.Buffer
	code := run([]string{"--check-config"}, &out, &errb)
	const want = "ok: env: 0 identities, 2 credentials (static: anthropic, gemini), socket /run/awf-broker/broker.sock\n" +
		"  credential \"anthropic\": static key from $ANTHROPIC_API_KEY in x-api-key (anthropic API defaults); sidecar port 10001; target https://api.anthropic.com; hosts api.anthropic.com\n" +
		"  credential \"gemini\": static key from $GEMINI_API_KEY in x-goog-api-key; sidecar port 10003; target https://generativelanguage.googleapis.com; hosts generativelanguage.googleapis.com\n" +
		"  note: AWF_AUTH_TYPE=\"api-key\": static keys only, as in the api-proxy\n"
	if code != 0 || out.String() != want || errb.Len() != 0 || strings.Contains(out.String(), key) {
		t.Errorf("exit %d\nstdout %s\nwant   %s\nstderr %s", code, out.String(), want, errb.String())
	}
	t.Setenv("AWF_AUTH_TYPE", "github-oidc")
	t.Setenv("AWF_AUTH_PROVIDER", "vertex")
	out.Reset()
	errb.Reset()
	code = run([]string{"--check-config"}, &out, &errb)
	if code != 2 || out.Len() != 0 || !strings.HasPrefix(errb.String(), "env: AWF_AUTH_PROVIDER: unknown provider \"vertex\"") {
		t.Errorf("unknown provider: exit %d stdout %q stderr %q", code, out.String(), errb.String())
	}
}

func TestCheckConfig(t *testing.T) {
	// Private copies: --check-config applies the config file's trust rule,
	// and a checkout made under umask 002 leaves the tree group-writable.
	tmp := t.TempDir()
	copyOf := func(name string) string {
		src, err := os.ReadFile("../../testdata/config/" + name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, src, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	minimal, bad, missing := copyOf("good-minimal.hcl"), copyOf("bad-duration.hcl"), filepath.Join(tmp, "missing.hcl")
	open := filepath.Join(tmp, "open.hcl")
	if err := os.Rename(copyOf("good-full.hcl"), open); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o602); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file   string
		code   int
		stdout string
		stderr string
	}{
		{minimal, 0, "ok: " + minimal + ": 1 identity, 1 credential (anthropic: anthropic), socket /run/awf-broker/broker.sock\n" +
			"  identity \"github\": github-actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN or run-time registration), request hosts loopback only\n" +
			"  credential \"anthropic\": anthropic via identity \"github\"; sidecar port 10001; target https://api.anthropic.com; hosts api.anthropic.com\n", ""},
		{bad, 2, "", bad + ":9,3: credential \"anthropic\": lease_ttl: invalid duration \"15x\" (want e.g. \"15m\")\n"},
		{missing, 2, "", "config file: open " + missing + ": no such file or directory\n"},
		{open, 2, "", "config file " + open + " (owner uid " + strconv.Itoa(os.Getuid()) + ", mode 0602): writable by others; chmod o-w " + open + "\n"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run([]string{"--check-config", c.file}, &out, &errb); code != c.code || out.String() != c.stdout || errb.String() != c.stderr {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", c.file, code, out.String(), errb.String())
		}
	}
	// The file may follow the bare flag, be given with "=", or be --config's.
	for _, args := range [][]string{{"--check-config", minimal}, {"--check-config=" + minimal}, {"--config", minimal, "--check-config"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "ok: "+minimal) {
			t.Errorf("%q: exit %d %s%s", args, code, out.String(), errb.String())
		}
	}
	// A flag after FILE would be a silently ignored argument: refused.
	for _, args := range [][]string{{"--check-config", minimal, "--log-level", "debug"}, {"--check-config=" + minimal, "extra"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--check-config takes one file") {
			t.Errorf("%q: exit %d %s%s", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
		t.Errorf("bad flag: exit %d %s", code, errb.String())
	}
}
