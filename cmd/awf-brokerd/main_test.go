package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	cases := []struct {
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"../../testdata/config/good-minimal.hcl", 0, "ok: ../../testdata/config/good-minimal.hcl: 1 identity, 1 credential (anthropic: anthropic), socket /run/awf-broker/broker.sock\n", ""},
		{"../../testdata/config/bad-duration.hcl", 2, "", "../../testdata/config/bad-duration.hcl:9,3: credential \"anthropic\": lease_ttl: invalid duration \"15x\" (want e.g. \"15m\")\n"},
		{"../../testdata/config/missing.hcl", 2, "", "config file: open ../../testdata/config/missing.hcl: no such file or directory\n"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run([]string{"--check-config", c.file}, &out, &errb); code != c.code || out.String() != c.stdout || errb.String() != c.stderr {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", c.file, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
		t.Errorf("bad flag: exit %d %s", code, errb.String())
	}
}
