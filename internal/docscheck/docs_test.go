package docscheck

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocs checks README.md and every page under docs/: links and
// anchors, HCL snippets (awf-brokerd --check-config) and the commands
// shown (the binaries' own help).
func TestDocs(t *testing.T) {
	// From the module root, so problems name README.md and docs/… as a
	// reader finds them.
	t.Chdir(filepath.Join("..", ".."))
	root := "."
	files := []string{"README.md"}
	err := filepath.WalkDir("docs", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v; is docs/ there?", files)
	}
	h := &helpCache{}
	invocations := 0
	for _, f := range files {
		d, err := ReadDoc(f)
		if err != nil {
			t.Fatal(err)
		}
		invocations += len(FindInvocations(d, "awf-brokerd", "awf-broker-cli"))
		for _, p := range checkDoc(t, root, d, h) {
			t.Error(p)
		}
	}
	if invocations < 20 {
		t.Errorf("found only %d command invocations in the docs; is the extraction broken?", invocations)
	}
}
