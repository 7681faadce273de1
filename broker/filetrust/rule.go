// Package filetrust is the one rule for the files the daemon trusts
// (DESIGN §5 Files): a secret file (a static credential's value_file, an
// identity file) must be a regular file owned by root or the daemon's uid,
// neither group-writable nor readable or writable by others; the config
// must be owned the same way and writable by no one else. Each file is
// read through the descriptor that was checked, never reopened, and no
// more than its size cap is read.
package filetrust

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Size caps. A JWT or an API key is a few KiB; a config a few dozen.
const (
	MaxSecretSize = 64 << 10
	MaxConfigSize = 1 << 20
)

// Rule is what a file must be for the daemon to trust it.
type Rule struct {
	// What names the file in errors ("value_file", "config file").
	What string
	// Owners are the uids that may own it.
	Owners []uint32
	// Forbid are the permission bits that must be clear.
	Forbid fs.FileMode
	// MaxSize is the most bytes it may hold.
	MaxSize int64
}

// Secret is the rule for a file holding a secret, for a daemon running as
// the current uid: mode 0600 or 0640 at most.
func Secret(what string) Rule {
	return Rule{What: what, Owners: owners(), Forbid: 0o026, MaxSize: MaxSecretSize}
}

// Config is the rule for the config file: whoever can rewrite it can point
// a credential anywhere, so no one but its owner (root or the daemon's
// uid) may write it; reading it is harmless (it holds no secret).
func Config() Rule {
	return Rule{What: "config file", Owners: owners(), Forbid: 0o022, MaxSize: MaxConfigSize}
}

// owners is root and the daemon's own uid.
func owners() []uint32 {
	self := uint32(os.Getuid())
	if self == 0 {
		return []uint32{0}
	}
	return []uint32{0, self}
}

// Stat is what the rule looks at: the fstat of the open file.
type Stat struct {
	UID  uint32
	Mode fs.FileMode
	Size int64
}

// Error says why a file is not trusted, naming it, its owner and its mode.
type Error struct {
	What, Path string
	Stat       Stat
	// Problems are the reasons, each with its remedy.
	Problems []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s (owner uid %d, mode %04o): %s", e.What, e.Path, e.Stat.UID, uint32(e.Stat.Mode.Perm()),
		strings.Join(e.Problems, "; "))
}

// Check returns nil when a file of stat st at path passes r, else an
// *Error with every problem.
func (r Rule) Check(path string, st Stat) error {
	var problems []string
	if !st.Mode.IsRegular() {
		problems = append(problems, "not a regular file")
	}
	if !slices.Contains(r.Owners, st.UID) {
		problems = append(problems, fmt.Sprintf("owned by uid %d, not by %s; chown it", st.UID, ownerNames(r.Owners)))
	}
	if bad := st.Mode.Perm() & r.Forbid; bad != 0 {
		problems = append(problems, fmt.Sprintf("%s; chmod %s %s", describe(bad), chmodArg(bad), path))
	}
	if st.Size > r.MaxSize {
		problems = append(problems, fmt.Sprintf("%d bytes, more than the %d allowed", st.Size, r.MaxSize))
	}
	if len(problems) == 0 {
		return nil
	}
	return &Error{What: r.What, Path: path, Stat: st, Problems: problems}
}

func ownerNames(uids []uint32) string {
	names := make([]string, len(uids))
	for i, u := range uids {
		if u == 0 {
			names[i] = "root"
		} else {
			names[i] = fmt.Sprintf("the daemon's uid %d", u)
		}
	}
	return strings.Join(names, " or ")
}

// describe says which forbidden bits are set, in words.
func describe(bad fs.FileMode) string {
	var parts []string
	if bad&0o020 != 0 {
		parts = append(parts, "group-writable")
	}
	switch bad & 0o006 {
	case 0o006:
		parts = append(parts, "readable and writable by others")
	case 0o004:
		parts = append(parts, "readable by others")
	case 0o002:
		parts = append(parts, "writable by others")
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("has forbidden bits %04o", uint32(bad)))
	}
	return strings.Join(parts, ", ")
}

// chmodArg is the chmod argument that clears bad ("g-w,o-rw").
func chmodArg(bad fs.FileMode) string {
	var parts []string
	for _, w := range []struct {
		who   string
		shift uint
	}{{"u", 6}, {"g", 3}, {"o", 0}} {
		bits := (uint32(bad) >> w.shift) & 7
		if bits == 0 {
			continue
		}
		s := w.who + "-"
		for _, b := range []struct {
			bit uint32
			c   string
		}{{4, "r"}, {2, "w"}, {1, "x"}} {
			if bits&b.bit != 0 {
				s += b.c
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}
