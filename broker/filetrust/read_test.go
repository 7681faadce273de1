package filetrust

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestRead checks real files: what is trusted is read whole, what is not
// is refused with an *Error naming the file, its owner and its mode.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	self := os.Getuid()
	good := filepath.Join(dir, "good.key")
	write(t, good, "sk-test\n", 0o600)
	b, err := Secret("value_file").Read(good)
	if err != nil || string(b) != "sk-test\n" {
		t.Fatalf("Read(good) = %q, %v", b, err)
	}

	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if b, err := Secret("identity file").Read(link); err != nil || string(b) != "sk-test\n" {
		t.Errorf("a symlink to a trusted file: %q, %v", b, err)
	}

	open := filepath.Join(dir, "open.key")
	write(t, open, "sk-test\n", 0o644)
	_, err = Secret("value_file").Read(open)
	want := "value_file " + open + " (owner uid " + itoa(self) + ", mode 0644): readable by others; chmod o-r " + open
	if err == nil || err.Error() != want {
		t.Errorf("0644 key: %v\nwant %s", err, want)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Stat.Mode.Perm() != 0o644 {
		t.Errorf("not an *Error with the mode: %#v", err)
	}
	if _, err := Config().Read(open); err != nil {
		t.Errorf("a 0644 config is fine: %v", err)
	}

	big := filepath.Join(dir, "big.key")
	write(t, big, strings.Repeat("k", MaxSecretSize+1), 0o600)
	if _, err := Secret("value_file").Read(big); err == nil || !strings.Contains(err.Error(), "65537 bytes, more than the 65536 allowed") {
		t.Errorf("oversized: %v", err)
	}

	if _, err := Secret("value_file").Read(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

// TestReadFIFODoesNotBlock: a FIFO planted where a key should be is
// refused at once, not waited on for a writer.
func TestReadFIFODoesNotBlock(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Secret("value_file").Read(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.HasSuffix(err.Error(), "): not a regular file") {
			t.Errorf("fifo: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read blocked on a FIFO")
	}
}

// TestReadOtherOwner needs root to give a file away.
func TestReadOtherOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown a file to another uid")
	}
	p := filepath.Join(t.TempDir(), "theirs.key")
	write(t, p, "sk\n", 0o600)
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Secret("value_file").Read(p)
	want := "value_file " + p + " (owner uid 65534, mode 0600): owned by uid 65534, not by root; chown it"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
