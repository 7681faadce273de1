package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// socketWatchInterval is how often the socket file is checked when the
// socket's directory cannot be watched (inotify). A deleted socket file
// cannot be detected from the listener itself: accept keeps working, but
// nobody can connect any more.
const socketWatchInterval = 500 * time.Millisecond

// socketRecheckInterval is how often the file is checked besides the
// directory's change notifications, for what inotify does not report (a
// network file system, a mount over the directory).
const socketRecheckInterval = 5 * time.Second

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
// ErrSocketGone. It checks whenever the socket's directory changes, and
// every socketRecheckInterval; every socketWatchInterval when the
// directory cannot be watched. Polling twice a second cost an idle broker
// ~0.5 ms of CPU a second (each tick wakes the scheduler and sysmon),
// which a lightly loaded broker paid as ~30 µs per header grant.
func (w *SocketWatch) Run(ctx context.Context, stop context.CancelCauseFunc) {
	interval := socketRecheckInterval
	changed, unwatch, err := watchDir(filepath.Dir(w.path))
	if err != nil {
		w.log.Debug("cannot watch the socket's directory; polling", "path", w.path, "error", err)
		interval = socketWatchInterval
	}
	defer unwatch()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Check(); err != nil {
			if ctx.Err() != nil {
				return // stopping: closing the listener removed the file
			}
			w.log.Error("socket file lost; exiting", "path", w.path, "error", err)
			stop(err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok { // the watch failed: poll
				changed = nil
				t.Reset(socketWatchInterval)
			}
		case <-t.C:
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
