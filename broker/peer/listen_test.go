package peer

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestListenCreatesDirAndSetsMode(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "awf", "broker.sock")
	l, err := Listen(sock, 0o660, 65534)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v", fi.Mode())
	}
	if os.Geteuid() == 0 {
		if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 65534 {
			t.Errorf("socket gid = %d, want 65534", gid)
		}
	}
	if di, err := os.Stat(filepath.Dir(sock)); err != nil || di.Mode().Perm() != 0o750 {
		t.Errorf("socket dir: %v %v", di.Mode().Perm(), err)
	}
	l.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("closing the listener left the socket file: %v", err)
	}
}

func TestListenStaleVersusLive(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	live, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Listen(sock, 0o600, -1)
	if want := "another daemon is listening on " + sock; err == nil || err.Error() != want {
		t.Fatalf("second Listen: %v, want %q", err, want)
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Fatal("the refused Listen removed the live daemon's socket")
	}
	// A daemon that died leaves its socket file behind; nothing answers.
	live.(*net.UnixListener).SetUnlinkOnClose(false)
	live.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatal("stale socket file missing")
	}
	l, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("new listener does not answer: %v", err)
	}
	c.Close()
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, 0o600, -1); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Error("Listen clobbered a regular file")
	}
}

func TestFromListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	if l, err := FromListener(ul); err != nil || l != ul {
		t.Errorf("FromListener(unix) = %v, %v", l, err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	if _, err := FromListener(tl); err == nil {
		t.Error("FromListener accepted a TCP listener")
	}
}
