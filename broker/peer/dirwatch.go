package peer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dirChanges are the inotify events on the socket's directory after which
// the socket file is checked: an entry created, deleted or renamed, or the
// directory itself deleted or renamed.
const dirChanges = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// watchDir reports changes of dir (inotify(7)) on changed, which is closed
// when the watch fails. unwatch stops the watch and waits for its
// goroutine; it is never nil.
func watchDir(dir string) (changed <-chan struct{}, unwatch func(), err error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, func() {}, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, dirChanges); err != nil {
		unix.Close(fd)
		return nil, func() {}, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	// Non-blocking, so the runtime's poller waits for it and Close
	// interrupts a pending Read.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default: // a check is already due
			}
		}
	}()
	return ch, func() { f.Close(); <-done }, nil
}
