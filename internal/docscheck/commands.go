package docscheck

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Invocation is a command line of one of the checked programs, found in a
// doc at Line.
type Invocation struct {
	Line int
	Prog string
	Args []string
}

// Help returns the command at path (the words after prog's name).
type Help func(prog string, path []string) (*Command, error)

// sep stands for a shell operator between commands.
const sep = "\x00"

var (
	assignRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	numberRE      = regexp.MustCompile(`^\d+[smh]?$`)
	placeholderRE = regexp.MustCompile(`^(?:[A-Z][A-Z0-9_]*|<[^>]*>)$`)
	wrappers      = map[string]bool{"sudo": true, "exec": true, "nice": true, "env": true, "time": true, "command": true, "nohup": true, "timeout": true}
	launchers     = map[string]bool{"docker": true, "podman": true, "nerdctl": true}
)

// FindInvocations returns every invocation of progs in d: in code blocks
// (but HCL), one per shell command (continued lines joined), and in
// inline code spans that start with one.
func FindInvocations(d *Doc, progs ...string) []Invocation {
	var out []Invocation
	for _, b := range d.Blocks {
		if b.Lang == "hcl" || b.Lang == "json" {
			continue
		}
		for i := 0; i < len(b.Lines); i++ {
			line, start := b.Lines[i], b.Line+i
			for strings.HasSuffix(strings.TrimRight(line, " "), `\`) && i+1 < len(b.Lines) {
				i++
				line = strings.TrimSuffix(strings.TrimRight(line, " "), `\`) + " " + b.Lines[i]
			}
			out = append(out, invocations(start, line, progs)...)
		}
	}
	for _, s := range d.Spans {
		out = append(out, invocations(s.Line, s.Text, progs)...)
	}
	return out
}

// invocations finds the programs' commands on one logical line.
func invocations(line int, text string, progs []string) []Invocation {
	t := strings.TrimSpace(text)
	for _, p := range []string{"- ", "run:", "$ "} {
		t = strings.TrimSpace(strings.TrimPrefix(t, p))
	}
	if strings.HasPrefix(t, "#") {
		return nil
	}
	isProg := func(tok string) string {
		if strings.ContainsAny(tok, ":=") {
			return ""
		}
		for _, p := range progs {
			if path.Base(tok) == p {
				return p
			}
		}
		return ""
	}
	var out []Invocation
	toks := tokenize(t)
	atStart, launched := true, false
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		if tok == sep {
			atStart, launched = true, false
			continue
		}
		prog := isProg(tok)
		if atStart && prog == "" {
			switch {
			case assignRE.MatchString(tok):
				prog = isProg(tok[strings.Index(tok, "=")+1:])
				if prog == "" {
					continue
				}
			case wrappers[tok] || strings.HasPrefix(tok, "-") || numberRE.MatchString(tok):
				continue
			case tok == "go" && i+1 < len(toks) && toks[i+1] == "run":
				i++
				continue
			default:
				atStart, launched = false, launchers[tok]
				continue
			}
		}
		if prog == "" || (!atStart && !launched) {
			continue
		}
		inv := Invocation{Line: line, Prog: prog}
		for i+1 < len(toks) && toks[i+1] != sep {
			i++
			inv.Args = append(inv.Args, toks[i])
		}
		out = append(out, inv)
	}
	return out
}

// tokenize splits a shell line into words, unquoting them; operators
// become sep, and a comment ends the line.
func tokenize(s string) []string {
	var out []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			out = append(out, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return out
		case c == '|' && inWord && i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '|':
			// a|b inside a word: alternatives in a synopsis, not a pipe
			cur.WriteByte(c)
		case strings.IndexByte("|&;()<>`", c) >= 0 || (c == '$' && i+1 < len(s) && s[i+1] == '('):
			flush()
			if c == '>' || c == '<' {
				// a redirection's target is no command
				for i+1 < len(s) && s[i+1] == ' ' {
					i++
				}
				for i+1 < len(s) && s[i+1] != ' ' {
					i++
				}
			}
			if len(out) == 0 || out[len(out)-1] != sep {
				out = append(out, sep)
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return out
}

// CheckInvocation checks that inv names real commands and flags of its
// program, asking help for each command on the way.
func CheckInvocation(file string, inv Invocation, help Help) []Problem {
	bad := func(f string, a ...any) []Problem {
		return []Problem{{file, inv.Line, fmt.Sprintf("%s: ", strings.Join(append([]string{inv.Prog}, inv.Args...), " ")) + fmt.Sprintf(f, a...)}}
	}
	var path []string
	cmd, err := help(inv.Prog, path)
	if err != nil {
		return bad("%v", err)
	}
	args := false
	for i := 0; i < len(inv.Args); i++ {
		a := inv.Args[i]
		if strings.HasPrefix(a, "[") || strings.HasSuffix(a, "]") {
			a = strings.Trim(a, "[]")
		}
		switch {
		case a == "":
			continue
		case a == "--" || strings.HasPrefix(a, "…") || a == "...":
			return nil
		case strings.HasPrefix(a, "-") && len(a) > 1:
			name, _, hasValue := strings.Cut(a, "=")
			takes, ok := cmd.Flags[name]
			if !ok && !strings.HasPrefix(name, "--") && len(name) > 2 {
				// -ojson: a shorthand with its value attached
				takes, ok = cmd.Flags[name[:2]]
				hasValue = true
			}
			if !ok {
				return bad("%s has no flag %s", strings.Join(append([]string{inv.Prog}, path...), " "), name)
			}
			if takes && !hasValue {
				i++
			}
			continue
		}
		if args {
			continue
		}
		if len(cmd.Subcommands) > 0 {
			alts := strings.Split(a, "|")
			all := true
			for _, alt := range alts {
				all = all && cmd.Subcommands[alt]
			}
			switch {
			case all && len(alts) == 1:
				path = append(path, a)
				if cmd, err = help(inv.Prog, path); err != nil {
					return bad("%v", err)
				}
				continue
			case all || placeholderRE.MatchString(a):
				return nil // alternatives or a placeholder: the rest is not one command
			}
		}
		if !cmd.Args {
			what := "takes no arguments"
			if len(cmd.Subcommands) > 0 {
				what = "has no command"
			}
			return bad("%s %s %q", strings.Join(append([]string{inv.Prog}, path...), " "), what, a)
		}
		args = true
	}
	return nil
}
