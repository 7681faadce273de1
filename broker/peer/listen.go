package peer

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// staleDialTimeout bounds the probe that tells a stale socket file from a
// live daemon.
const staleDialTimeout = time.Second

// Listen listens on the unix socket at path. It creates the parent
// directory (0750) when missing, removes a stale socket file only when
// nothing answers on it, and sets the socket's mode and, unless gid is -1,
// its group. Closing the listener removes the socket file.
//
// The socket is created with the process umask before the chmod; with the
// usual umask (022) it is not writable, hence not connectable, by others in
// that window.
func Listen(path string, mode os.FileMode, gid int) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("chown socket: %w", err)
		}
	}
	return l, nil
}

// removeStale removes path when it is a socket nobody answers on. It refuses
// to remove anything else, and fails when a daemon answers.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat socket: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, staleDialTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("another daemon is listening on %s", path)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale socket: %w", err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("probe existing socket %s: %w", path, err)
	}
}

// FromListener checks that an inherited listener (systemd socket
// activation) is a unix socket, on which peer credentials work, and returns
// it as is.
func FromListener(l net.Listener) (net.Listener, error) {
	if _, ok := l.(*net.UnixListener); !ok {
		return nil, fmt.Errorf("inherited listener on %s is not a unix socket", l.Addr())
	}
	return l, nil
}
