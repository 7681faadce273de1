// Package peer owns the daemon's side of the unix socket: it creates the
// listening socket safely, and tells who is on the other end of each
// connection: uid, gid and pid from SO_PEERCRED, read once at accept, plus
// the process's start time so that a recycled pid never passes for the
// process that created a lease.
package peer

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Cred identifies the process on the other end of a connection, as the
// kernel reported it when the connection was made.
type Cred struct {
	UID, GID uint32
	// PID is 0 when the caller's pid is not visible in the broker's pid
	// namespace.
	PID int32
	// StartTime is the process's start time (/proc/<pid>/stat field 22,
	// clock ticks since boot); 0 when it could not be read.
	StartTime uint64
}

// HasProcess reports whether the caller's process is known well enough
// (pid and start time) to bind a lease to it.
func (c Cred) HasProcess() bool { return c.PID > 0 && c.StartTime > 0 }

// SameProcess reports whether c and o are the same live process: the same
// known pid and process start time (so a recycled pid never passes).
func (c Cred) SameProcess(o Cred) bool {
	return c.HasProcess() && c.PID == o.PID && c.StartTime == o.StartTime
}

// FromConn reads the peer credentials of a unix socket connection
// (SO_PEERCRED) and the start time of the peer's process. A start time that
// cannot be read (the caller already exited, or lives in a pid namespace the
// broker cannot see into) is left 0, so such a caller cannot hold a
// process-bound lease.
func FromConn(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, fmt.Errorf("peer: %T is not a unix socket connection", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peer: raw connection: %w", err)
	}
	var ucred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		ucred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, fmt.Errorf("peer: raw control: %w", err)
	}
	if serr != nil {
		return Cred{}, fmt.Errorf("peer: SO_PEERCRED: %w", serr)
	}
	cred := Cred{UID: ucred.Uid, GID: ucred.Gid, PID: ucred.Pid}
	if cred.PID > 0 {
		if st, err := StartTime(cred.PID); err == nil {
			cred.StartTime = st
		}
	}
	return cred, nil
}
