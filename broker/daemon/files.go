package daemon

import (
	"fmt"
	"os"
)

// checkPrivateFile refuses a file that users other than its owner could
// rewrite: whoever can edit the config can point a credential anywhere,
// and whoever can edit a key file can swap the key the agents are served.
func checkPrivateFile(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s %s has mode %04o: it is group- or world-writable; make it 0600 or 0640 (chmod go-w %s)",
			what, path, perm, path)
	}
	return nil
}
