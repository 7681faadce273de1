package filetrust

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Read opens path, checks the open file against r and reads it from the
// same descriptor, so the file checked is the file read even if path is
// swapped in between. It reads at most r.MaxSize bytes: a file that grew
// past the cap after the check is refused, not truncated. Symbolic links
// are followed (Kubernetes projects tokens through them); the rule applies
// to the file they lead to. O_NONBLOCK keeps a FIFO planted at path from
// blocking the open; Check then refuses it as not a regular file.
func (r Rule) Read(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.What, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.What, err)
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s %s: the file's owner is unknown on this system", r.What, path)
	}
	st := Stat{UID: sys.Uid, Mode: fi.Mode(), Size: fi.Size()}
	if err := r.Check(path, st); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, r.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.What, path, err)
	}
	if int64(len(b)) > r.MaxSize {
		st.Size = int64(len(b))
		return nil, &Error{What: r.What, Path: path, Stat: st, Problems: []string{fmt.Sprintf("grew past the %d bytes allowed while being read", r.MaxSize)}}
	}
	return b, nil
}
