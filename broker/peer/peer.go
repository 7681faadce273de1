// Package peer listens on the API's unix socket and tells who is on the
// other end of each connection: uid, gid and pid from SO_PEERCRED, read
// once at accept, plus the process's start time so a recycled pid never
// passes for the process that created a lease.
package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cred is a connection's peer.
type Cred struct {
	UID, GID uint32
	PID      int32
	// StartTime is field 22 of /proc/<pid>/stat (clock ticks since boot).
	StartTime uint64
}

// FromConn reads the peer credentials of a unix socket connection.
func FromConn(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, fmt.Errorf("peer: %T is not a unix socket connection", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peer: %w", err)
	}
	var uc2 *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		uc2, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, fmt.Errorf("peer: %w", err)
	}
	if serr != nil {
		return Cred{}, fmt.Errorf("peer: SO_PEERCRED: %w", serr)
	}
	cred := Cred{UID: uc2.Uid, GID: uc2.Gid, PID: uc2.Pid}
	// The start time may be unreadable (another pid namespace); then the
	// process cannot use process-bound leases, which check it.
	cred.StartTime, _ = StartTime(cred.PID)
	return cred, nil
}

type ctxKey struct{}

type ctxVal struct {
	cred Cred
	err  error
}

// ConnContext is an http.Server ConnContext that stores the peer.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	cred, err := FromConn(c)
	return context.WithValue(ctx, ctxKey{}, ctxVal{cred, err})
}

// FromContext returns the peer stored by ConnContext.
func FromContext(ctx context.Context) (Cred, bool) {
	v, ok := ctx.Value(ctxKey{}).(ctxVal)
	return v.cred, ok && v.err == nil
}

// WithCred returns ctx carrying cred (tests and in-process callers).
func WithCred(ctx context.Context, cred Cred) context.Context {
	return context.WithValue(ctx, ctxKey{}, ctxVal{cred: cred})
}

// StartTime returns the start time of pid, field 22 of /proc/<pid>/stat.
func StartTime(pid int32) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStartTime(string(b))
}

// parseStartTime reads field 22; comm (field 2) may hold spaces and
// parentheses, so fields are counted after the last ')'.
func parseStartTime(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("peer: malformed stat")
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, errors.New("peer: short stat")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Alive reports whether pid is running and is the process that started at start.
func Alive(pid int32, start uint64) bool {
	st, err := StartTime(pid)
	if err != nil {
		return false
	}
	// A zombie has exited even though its stat remains.
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && len(b) > i+2 && b[i+2] == 'Z' {
		return false
	}
	return st == start
}
