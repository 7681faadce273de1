// Package docscheck checks the user docs (README.md and docs/) against the
// tree they describe: every relative link and #anchor resolves, every HCL
// snippet passes `awf-brokerd --check-config`, and every awf-broker-cli or
// awf-brokerd invocation names a real command and flag. Each problem
// carries the file:line it was found at.
package docscheck

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
)

// Problem is one thing wrong in a doc, at File:Line.
type Problem struct {
	File string
	Line int
	Msg  string
}

// String is "file:line: message", the form editors jump to.
func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Doc is a parsed Markdown file.
type Doc struct {
	// Path is the file's path as given (problems name it).
	Path string
	// Blocks are the fenced code blocks.
	Blocks []Block
	// Spans are the inline code spans outside code blocks.
	Spans []Span
	// Links are the links outside code, as written.
	Links []Link
	// Anchors are the heading anchors, as GitHub makes them.
	Anchors map[string]bool
}

// Block is a fenced code block.
type Block struct {
	Lang string
	// Info is the rest of the fence's info string (```hcl refused → "refused").
	Info string
	// Line is the line of the block's first content line.
	Line  int
	Lines []string
}

// Link is a Markdown link found at Line.
type Link struct {
	Line   int
	Text   string
	Target string
}

// Span is a piece of text found at Line.
type Span struct {
	Line int
	Text string
}

var (
	fenceRE   = regexp.MustCompile("^\\s*(```+|~~~+)\\s*([\\w+-]*)\\s*(.*)$")
	codeRE    = regexp.MustCompile("(`+)(.+?)(`+)")
	linkRE    = regexp.MustCompile(`!?\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLinkRE = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s+(\S+)`)
	headingRE = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	mdLinkRE  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// ReadDoc reads and parses the Markdown file at path.
func ReadDoc(path string) (*Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read doc: %w", err)
	}
	return ParseDoc(path, string(b)), nil
}

// ParseDoc parses Markdown text; path names it in problems.
func ParseDoc(path, text string) *Doc {
	d := &Doc{Path: path, Anchors: map[string]bool{}}
	seen := map[string]int{}
	var cur *Block
	var fence string
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if cur != nil {
			if strings.HasPrefix(strings.TrimSpace(line), fence) && strings.Trim(strings.TrimSpace(line), fence[:1]) == "" {
				d.Blocks = append(d.Blocks, *cur)
				cur = nil
				continue
			}
			cur.Lines = append(cur.Lines, line)
			continue
		}
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			cur, fence = &Block{Lang: strings.ToLower(m[2]), Info: strings.TrimSpace(m[3]), Line: n + 1}, m[1]
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			a := Slug(m[2])
			if k := seen[a]; k > 0 {
				d.Anchors[fmt.Sprintf("%s-%d", a, k)] = true
			} else {
				d.Anchors[a] = true
			}
			seen[a]++
		}
		for _, m := range codeRE.FindAllStringSubmatch(line, -1) {
			if m[1] == m[3] {
				d.Spans = append(d.Spans, Span{Line: n, Text: strings.TrimSpace(m[2])})
			}
		}
		// Links are read with code spans blanked out, but a link's own
		// text may be code: [`TestX`](x_test.go).
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			if !insideCode(line, m[0]) {
				d.Links = append(d.Links, Link{Line: n, Text: m[1], Target: m[2]})
			}
		}
		if m := refLinkRE.FindStringSubmatch(codeRE.ReplaceAllString(line, "")); m != nil {
			d.Links = append(d.Links, Link{Line: n, Target: m[1]})
		}
	}
	if cur != nil {
		d.Blocks = append(d.Blocks, *cur)
	}
	return d
}

// insideCode reports whether the first occurrence of link in line lies
// within a code span.
func insideCode(line, link string) bool {
	at := strings.Index(line, link)
	for _, loc := range codeRE.FindAllStringIndex(line, -1) {
		if loc[0] < at && at < loc[1] {
			return true
		}
	}
	return false
}

// Slug is the anchor GitHub gives a heading: lower case, letters, digits,
// '-' and '_' kept, spaces made '-', everything else dropped. Markdown
// link syntax in a heading keeps only its text.
func Slug(heading string) string {
	heading = mdLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
