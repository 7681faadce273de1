package peer

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFromConnAndContext(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan Cred, 1)
	srv := &http.Server{ConnContext: ConnContext, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if !ok {
			t.Error("no peer in context")
		}
		got <- c
	})}
	go srv.Serve(l)
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://unix/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := <-got
	if c.UID != uint32(os.Getuid()) || c.GID != uint32(os.Getgid()) || c.PID != int32(os.Getpid()) || c.StartTime == 0 {
		t.Fatalf("cred = %+v", c)
	}
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", fi.Mode().Perm())
	}
	if !Alive(c.PID, c.StartTime) || Alive(c.PID, c.StartTime+1) {
		t.Error("Alive is wrong for this process")
	}
}

func TestAliveChild(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := int32(cmd.Process.Pid)
	st, err := StartTime(pid)
	if err != nil || !Alive(pid, st) {
		t.Fatalf("child not alive: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if Alive(pid, st) {
		t.Fatal("dead child reported alive")
	}
}

func TestListenStaleAndLive(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sub", "s.sock")
	l, err := Listen(sock, 0o660, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(sock, 0o660, -1); err == nil || !strings.Contains(err.Error(), "another daemon is listening") {
		t.Fatalf("second listen: %v", err)
	}
	// Leave a stale socket file behind: a listener closed without unlinking.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatal("stale socket file missing")
	}
	l2, err := Listen(sock, 0o660, -1)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("socket dir mode: %v %v", fi.Mode().Perm(), err)
	}
	notSock := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notSock, nil, 0o600)
	if _, err := Listen(notSock, 0o660, -1); err == nil {
		t.Error("listened over a regular file")
	}
	_ = time.Second
}

func TestParseStartTime(t *testing.T) {
	stat := "1234 (weird) name)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21"
	if got, err := parseStartTime(stat); err != nil || got != 987654 {
		t.Fatalf("got %d %v", got, err)
	}
	if _, err := parseStartTime("1 (x) S 1 2"); err == nil {
		t.Error("short stat accepted")
	}
}

func TestParseContainerID(t *testing.T) {
	id := strings.Repeat("ab12", 16)
	cases := map[string]string{
		"12:pids:/docker/" + id + "\n":                                                  id,
		"0::/system.slice/docker-" + id + ".scope\n":                                    id,
		"0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-" + id + ".scope\n": id,
		"0::/user.slice/user-1000.slice/user@1000.service/libpod-" + id + ".scope\n":    id,
		"11:memory:/kubepods/burstable/pod1234-5678/" + id + "\n":                       id,
		"0::/user.slice/user-1000.slice/session-2.scope\n":                              "",
		"0::/system.slice/awf-brokerd.service\n":                                        "",
	}
	for in, want := range cases {
		if got := parseContainerID(in); got != want {
			t.Errorf("parseContainerID(%q) = %q, want %q", in, got, want)
		}
	}
}
