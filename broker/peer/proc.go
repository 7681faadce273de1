package peer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// startTimeField is the 1-based index of starttime in /proc/<pid>/stat.
const startTimeField = 22

// StartTime returns the start time of process pid in clock ticks since
// boot (/proc/<pid>/stat field 22).
func StartTime(pid int32) (uint64, error) {
	_, start, err := readStat(pid)
	return start, err
}

// Alive reports whether process pid exists, has not exited (a zombie
// counts as exited) and started at start; so a recycled pid never passes.
func Alive(pid int32, start uint64) bool {
	if pid <= 0 || start == 0 {
		return false
	}
	state, st, err := readStat(pid)
	if err != nil {
		return false
	}
	return st == start && state != 'Z' && state != 'X'
}

func readStat(pid int32) (state byte, start uint64, err error) {
	if pid <= 0 {
		return 0, 0, fmt.Errorf("invalid pid %d", pid)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read process stat: %w", err)
	}
	return parseStat(b)
}

// parseStat extracts the state (field 3) and the start time (field 22) from
// the contents of /proc/<pid>/stat. The comm field (2) is parenthesised and
// may itself hold spaces and parentheses, so fields are counted from after
// the last ')'.
func parseStat(b []byte) (state byte, start uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat: no comm field")
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state); field n is fields[n-3].
	if len(fields) < startTimeField-2 {
		return 0, 0, fmt.Errorf("malformed stat: %d fields after comm", len(fields))
	}
	if len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("malformed stat: state %q", fields[0])
	}
	start, err = strconv.ParseUint(string(fields[startTimeField-3]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed stat: start time: %w", err)
	}
	return fields[0][0], start, nil
}
