package main

import (
	"bytes"
	"strings"
	"testing"
)

const c0 = "../../testdata/config/good-minimal.hcl"

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
	cases := []struct {
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"../../testdata/config/good-minimal.hcl", 0, "ok: ../../testdata/config/good-minimal.hcl: 1 identity, 1 credential (anthropic: anthropic), socket /run/awf-broker/broker.sock\n" +
			"  identity \"github\": github-actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN or run-time registration), request hosts loopback only\n" +
			"  credential \"anthropic\": anthropic via identity \"github\"; sidecar port 10001; target https://api.anthropic.com; hosts api.anthropic.com\n", ""},
		{"../../testdata/config/bad-duration.hcl", 2, "", "../../testdata/config/bad-duration.hcl:9,3: credential \"anthropic\": lease_ttl: invalid duration \"15x\" (want e.g. \"15m\")\n"},
		{"../../testdata/config/missing.hcl", 2, "", "read config: open ../../testdata/config/missing.hcl: no such file or directory\n"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run([]string{"--check-config", c.file}, &out, &errb); code != c.code || out.String() != c.stdout || errb.String() != c.stderr {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", c.file, code, out.String(), errb.String())
		}
	}
	for _, args := range [][]string{{"--check-config", c0}, {"--check-config=" + c0}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "ok: "+c0) {
			t.Errorf("%q: exit %d %s%s", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
		t.Errorf("bad flag: exit %d %s", code, errb.String())
	}
}
