package docscheck

import (
	"regexp"
	"strings"
)

// Command is one node of a program's command tree, as its help shows it.
type Command struct {
	// Subcommands are the names of the command's subcommands.
	Subcommands map[string]bool
	// Flags maps each flag as typed ("--socket", "-o") to whether it
	// takes a value.
	Flags map[string]bool
	// Args reports whether the command takes positional arguments.
	Args bool
}

var (
	cobraFlagRE = regexp.MustCompile(`^\s+(?:-(\w), )?--([\w-]+)(?: (\w+))?(?:\s{2,}|$)`)
	cobraCmdRE  = regexp.MustCompile(`^  (\S+)\s+\S`) // cobra pads names to the longest, then one space
	goFlagRE    = regexp.MustCompile(`^  -([\w-]+)(?: (\S+))?(?:\t.*)?$`)
)

// ParseCobraHelp reads the --help of the cobra command at path (the words
// after the program's name), e.g. "awf-broker-cli creds --help".
func ParseCobraHelp(prog string, path []string, help string) *Command {
	c := &Command{Subcommands: map[string]bool{}, Flags: map[string]bool{}}
	prefix := strings.Join(append([]string{prog}, path...), " ")
	section := ""
	for _, line := range strings.Split(help, "\n") {
		if line != "" && !strings.HasPrefix(line, " ") {
			section = strings.TrimSuffix(strings.TrimSpace(line), ":")
			continue
		}
		switch section {
		case "Usage":
			u := strings.TrimSpace(line)
			if rest, ok := strings.CutPrefix(u, prefix); ok && !strings.HasSuffix(u, "[command]") {
				rest = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "[flags]"))
				if rest != "" && !strings.HasPrefix(rest, "-") {
					c.Args = true
				}
			}
		case "Available Commands", "Additional Commands":
			if m := cobraCmdRE.FindStringSubmatch(line); m != nil {
				c.Subcommands[m[1]] = true
			}
		case "Flags", "Global Flags":
			if m := cobraFlagRE.FindStringSubmatch(line); m != nil {
				takes := m[3] != ""
				c.Flags["--"+m[2]] = takes
				if m[1] != "" {
					c.Flags["-"+m[1]] = takes
				}
			}
		}
	}
	return c
}

// ParseGoFlagHelp reads the -h output of a program built on the standard
// flag package, which takes no subcommands and no arguments; its flags
// may be typed with one dash or two.
func ParseGoFlagHelp(help string) *Command {
	c := &Command{Subcommands: map[string]bool{}, Flags: map[string]bool{}}
	for _, line := range strings.Split(help, "\n") {
		if m := goFlagRE.FindStringSubmatch(line); m != nil {
			c.Flags["-"+m[1]] = m[2] != ""
			c.Flags["--"+m[1]] = m[2] != ""
		}
	}
	return c
}
