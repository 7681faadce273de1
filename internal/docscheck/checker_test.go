package docscheck

import (
	"slices"
	"strings"
	"testing"
)

// TestCheckerFindsEachMistake runs the checks on testdata/bad.md, which
// holds one mistake of each kind, and on testdata/good.md, which holds
// the forms the docs use and must pass.
func TestCheckerFindsEachMistake(t *testing.T) {
	h := &helpCache{}
	bad, err := ReadDoc("testdata/bad.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range checkDoc(t, ".", bad, h) {
		got = append(got, p.String())
	}
	// Each row: the problem's file:line and a piece of its message.
	want := []struct{ where, what string }{
		{"testdata/bad.md:15:", `link "missing.md": testdata/missing.md does not exist`},
		{"testdata/bad.md:16:", `link "good.md#no-such-part": testdata/good.md has no heading with anchor #no-such-part`},
		{"testdata/bad.md:17:", `link "#nothing": testdata/bad.md has no heading with anchor #nothing`},
		{"testdata/bad.md:20:", `hcl snippet refused by awf-brokerd --check-config: testdata/bad.md:25`},
		{"testdata/bad.md:30:", `awf-broker-cli lease has no command "craete"`},
		{"testdata/bad.md:31:", `awf-broker-cli creds has no flag --colour`},
		{"testdata/bad.md:32:", `awf-brokerd has no flag --chek-config`},
		{"testdata/bad.md:35:", `awf-broker-cli status takes no arguments "extra"`},
		{"testdata/bad.md:35:", `awf-broker-cli has no flag --colour`}, // after an a|b value
		{"testdata/bad.md:38:", `hcl snippet marked refused was accepted by awf-brokerd --check-config: ok:`},
		{"testdata/bad.md:43:", `link "../checker_test.go": checker_test.go defines no func TestNoSuchTest`},
		{"testdata/bad.md:43:", `link "checker_test.go": testdata/checker_test.go does not exist`},
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w.where) && strings.Contains(g, w.what) }) {
			t.Errorf("no problem %s …%s…; got:\n%s", w.where, w.what, strings.Join(got, "\n"))
		}
	}

	good, err := ReadDoc("testdata/good.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(FindInvocations(good, "awf-brokerd", "awf-broker-cli")); n != 7 {
		t.Errorf("good.md: found %d invocations, want 7 (go run, docker run, timeout, three synopses, the elided one; not install's arguments)", n)
	}
	for _, p := range checkDoc(t, ".", good, h) {
		t.Errorf("good.md: %s", p)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Errors you will meet":                 "errors-you-will-meet",
		"5. The workflow (`engine.auth`)":      "5-the-workflow-engineauth",
		"GCP Vertex AI (`provider = \"gcp\"`)": "gcp-vertex-ai-provider--gcp",
		"Events, metrics and lease holders":    "events-metrics-and-lease-holders",
		"[Linked](x.md) heading":               "linked-heading",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCobraSubcommands: cobra pads each name to the longest one and adds
// one space, so the longest name is followed by a single space.
func TestCobraSubcommands(t *testing.T) {
	help := "Usage:\n  x hook [command]\n\nAvailable Commands:\n  job-completed Clear the job\n  job-started   Register the job\n\nFlags:\n  -h, --help   help for hook\n"
	c := ParseCobraHelp("x", []string{"hook"}, help)
	if !c.Subcommands["job-completed"] || !c.Subcommands["job-started"] || len(c.Subcommands) != 2 {
		t.Fatalf("subcommands = %v, want job-completed and job-started", c.Subcommands)
	}
}
