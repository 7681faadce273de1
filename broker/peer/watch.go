package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// socketWatchInterval is how often the socket file is checked. A deleted
// socket file cannot be detected from the listener itself: accept keeps
// working, but nobody can connect any more.
const socketWatchInterval = 500 * time.Millisecond

// ErrSocketGone is the cause a daemon's Run stops with when its socket file was
// deleted or replaced while serving. The daemon exits loudly rather than
// recreating the file: a replaced file may belong to another daemon, and a
// supervisor (systemd Restart=on-failure) restarting a clean process is
// easier to reason about than a daemon that rebinds silently.
var ErrSocketGone = errors.New("the socket file was deleted or replaced while serving; clients can no longer connect")

// SocketWatch remembers which file a listener created, and tells when
// that file is gone.
type SocketWatch struct {
	path     string
	dev, ino uint64
	l        net.Listener
	log      hclog.Logger
}

// NewSocketWatch records the identity of the socket file at path, which l
// serves. It returns nil when the file cannot be read (nothing to watch).
func NewSocketWatch(path string, l net.Listener, log hclog.Logger) *SocketWatch {
	dev, ino, err := fileID(path)
	if err != nil {
		log.Warn("cannot watch the socket file", "path", path, "error", err)
		return nil
	}
	return &SocketWatch{path: path, dev: dev, ino: ino, l: l, log: log}
}

// Run checks the socket file until ctx ends; when the file is gone or is
// another file it logs an error and calls stop with an error wrapping
// ErrSocketGone.
func (w *SocketWatch) Run(ctx context.Context, stop context.CancelCauseFunc) {
	t := time.NewTicker(socketWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.Check(); err != nil {
			w.log.Error("socket file lost; exiting", "path", w.path, "error", err)
			stop(err)
			return
		}
	}
}

// Check returns an error wrapping ErrSocketGone when the file at the path
// is not the socket the daemon listens on.
func (w *SocketWatch) Check() error {
	dev, ino, err := fileID(w.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %s was deleted", ErrSocketGone, w.path)
	case err != nil:
		return fmt.Errorf("%w: %s: %w", ErrSocketGone, w.path, err)
	case dev != w.dev || ino != w.ino:
		// Someone else's file now: closing must not unlink it.
		if ul, ok := w.l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
		}
		return fmt.Errorf("%w: %s was replaced by another file", ErrSocketGone, w.path)
	}
	return nil
}

func fileID(path string) (dev, ino uint64, err error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("no inode for %s", path)
	}
	return uint64(st.Dev), st.Ino, nil
}
