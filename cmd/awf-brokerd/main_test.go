package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

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
		{minimal, 0, "ok: " + minimal + ": 1 identity, 1 credential (anthropic: anthropic), socket /run/awf-broker/broker.sock\n", ""},
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
	var out, errb bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
		t.Errorf("bad flag: exit %d %s", code, errb.String())
	}
}
