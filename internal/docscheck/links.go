package docscheck

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// CheckLinks checks that every relative link of d resolves to a file or
// directory, and that a #anchor names a heading of the Markdown file it
// points into. Targets listed in pending (paths relative to root) are
// skipped while they do not exist: pages another branch is adding.
func CheckLinks(root string, d *Doc, pending map[string]bool) []Problem {
	var out []Problem
	for _, l := range d.Links {
		target := l.Text
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
			if rel, rerr := filepath.Rel(root, path); rerr == nil && pending[filepath.ToSlash(rel)] {
				continue
			}
			out = append(out, Problem{d.Path, l.Line, fmt.Sprintf("link %q: %s does not exist", target, path)})
			continue
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
