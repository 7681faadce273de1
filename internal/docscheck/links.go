package docscheck

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var testNameRE = regexp.MustCompile("^`((?:Test|Fuzz|Benchmark)\\w+)`$")

// CheckLinks checks that every relative link of d resolves to a file or
// directory, that a #anchor names a heading of the Markdown file it points
// into, and that a link written [`TestName`](x_test.go) names a test,
// fuzz target or benchmark that file defines.
func CheckLinks(root string, d *Doc) []Problem {
	var out []Problem
	for _, l := range d.Links {
		target := l.Target
		if u, err := url.Parse(target); err != nil {
			out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: %v", target, err)})
			continue
		} else if u.Scheme != "" || strings.HasPrefix(target, "//") {
			continue // absolute: not ours to check
		}
		file, anchor, _ := strings.Cut(target, "#")
		file, _ = url.PathUnescape(file)
		path := d.Path
		if file != "" {
			if strings.HasPrefix(file, "/") {
				path = filepath.Join(root, file)
			} else {
				path = filepath.Join(filepath.Dir(d.Path), file)
			}
		}
		st, err := os.Stat(path)
		if err != nil {
			out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: %s does not exist", target, path)})
			continue
		}
		if m := testNameRE.FindStringSubmatch(l.Text); m != nil && strings.HasSuffix(path, "_test.go") {
			if src, err := os.ReadFile(path); err != nil || !strings.Contains(string(src), "func "+m[1]+"(") {
				out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: %s defines no func %s", target, path, m[1])})
			}
		}
		if anchor == "" {
			continue
		}
		if st.IsDir() || !strings.HasSuffix(path, ".md") {
			out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: an anchor into %s, which is not a Markdown file", target, path)})
			continue
		}
		td := d
		if path != d.Path {
			if td, err = ReadDoc(path); err != nil {
				out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: %v", target, err)})
				continue
			}
		}
		if !td.Anchors[anchor] {
			out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: %s has no heading with anchor #%s", target, path, anchor)})
		}
	}
	return out
}
