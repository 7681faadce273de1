package docscheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// CheckConfig validates one config file and returns what the validator
// printed and whether it accepted the file (awf-brokerd --check-config).
type CheckConfig func(file string) (output string, ok bool, err error)

var (
	identityRefRE = regexp.MustCompile(`(?m)^\s*identity\s*=\s*"([^"]+)"`)
	identityDefRE = regexp.MustCompile(`(?m)^\s*identity\s+"([^"]+)"\s*\{`)
	secretPathRE  = regexp.MustCompile(`(?m)^(\s*(?:value_file|path)\s*=\s*)"([^"]*)"`)
)

// Snippet is an HCL block of a doc made into a complete config file.
type Snippet struct {
	// Line is the doc line of the block's first line.
	Line int
	// Text is the config as written to disk.
	Text string
	// Prepended counts the lines added before the block's own.
	Prepended int
}

// FillHCL turns an HCL block into a config that can stand alone: "…"
// placeholders become "x", a secret file path (value_file, an identity's
// path) becomes keyFile, and a github-actions identity is added for every
// identity a credential names but the block does not define.
func FillHCL(b Block, keyFile string) Snippet {
	text := strings.Join(b.Lines, "\n")
	text = strings.ReplaceAll(text, "…", "x")
	text = secretPathRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := secretPathRE.FindStringSubmatch(m)
		if strings.HasSuffix(sub[2], ".sock") {
			return m // a socket path, not a secret file
		}
		return sub[1] + strconv.Quote(keyFile)
	})
	defined := map[string]bool{}
	for _, m := range identityDefRE.FindAllStringSubmatch(text, -1) {
		defined[m[1]] = true
	}
	var pre []string
	for _, m := range identityRefRE.FindAllStringSubmatch(text, -1) {
		if !defined[m[1]] {
			defined[m[1]] = true
			pre = append(pre, fmt.Sprintf("identity %q {", m[1]), `  type = "github-actions"`, "}")
		}
	}
	if len(pre) == 0 {
		return Snippet{Line: b.Line, Text: text + "\n"}
	}
	return Snippet{Line: b.Line, Text: strings.Join(pre, "\n") + "\n" + text + "\n", Prepended: len(pre)}
}

// CheckHCL writes every ```hcl block of d, filled (FillHCL), as a 0600
// file under dir and runs check on it; a refusal is a problem at the
// block's line, with the validator's file:line references mapped back to
// the doc's lines. A block fenced ```hcl refused shows a config that must
// be refused, and acceptance is the problem.
func CheckHCL(d *Doc, dir string, check CheckConfig) []Problem {
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, []byte("placeholder-key-for-docs\n"), 0o600); err != nil {
		return []Problem{{d.Path, 1, fmt.Sprintf("write key file: %v", err)}}
	}
	var out []Problem
	for i, b := range d.Blocks {
		if b.Lang != "hcl" {
			continue
		}
		s := FillHCL(b, key)
		file := filepath.Join(dir, fmt.Sprintf("%s-%d.hcl", strings.NewReplacer("/", "_", ".", "_").Replace(d.Path), i))
		if err := os.WriteFile(file, []byte(s.Text), 0o600); err != nil {
			out = append(out, Problem{d.Path, b.Line, fmt.Sprintf("write snippet: %v", err)})
			continue
		}
		msg, ok, err := check(file)
		switch {
		case err != nil:
			out = append(out, Problem{d.Path, b.Line, fmt.Sprintf("hcl snippet: %v", err)})
		case b.Info == "refused":
			if ok {
				out = append(out, Problem{d.Path, b.Line, "hcl snippet marked refused was accepted by awf-brokerd --check-config: " + strings.TrimSpace(msg)})
			}
		case !ok:
			out = append(out, Problem{d.Path, b.Line, "hcl snippet refused by awf-brokerd --check-config: " + mapLines(msg, file, d.Path, s)})
		}
	}
	return out
}

// mapLines rewrites "file:N" in msg as the doc's path and line.
func mapLines(msg, file, doc string, s Snippet) string {
	re := regexp.MustCompile(regexp.QuoteMeta(file) + `:(\d+)(?::\d+)?`)
	msg = re.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(re.FindStringSubmatch(m)[1])
		return fmt.Sprintf("%s:%d", doc, s.Line+n-1-s.Prepended)
	})
	return strings.TrimSpace(msg)
}
