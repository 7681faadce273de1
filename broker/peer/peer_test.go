package peer

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// unixClient returns an HTTP client that dials the socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

func TestFromConnOverSocketPair(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	defer server.Close()
	got, err := FromConn(server)
	if err != nil {
		t.Fatal(err)
	}
	wantStart, err := StartTime(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	want := Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid()), StartTime: wantStart}
	if got != want {
		t.Fatalf("FromConn = %+v, want %+v", got, want)
	}
	if !got.HasProcess() {
		t.Error("HasProcess = false for a visible process")
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tc, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if _, err := FromConn(tc); err == nil {
		t.Error("FromConn accepted a TCP connection")
	}
}

func TestConnContextOverHTTP(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Cred, 1)
	srv := &http.Server{ConnContext: ConnContext, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if !ok {
			t.Errorf("no peer in context: %v", ContextError(r.Context()))
		}
		got <- c
	})}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	defer func() { srv.Close(); <-done }()
	resp, err := unixClient(sock).Get("http://unix/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := <-got; c.PID != int32(os.Getpid()) || c.UID != uint32(os.Getuid()) || !Alive(c.PID, c.StartTime) {
		t.Fatalf("cred = %+v", c)
	}
}

func TestContextHelpers(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Error("FromContext found a caller in an empty context")
	}
	want := Cred{UID: 7, GID: 8, PID: 9, StartTime: 10}
	if got, ok := FromContext(WithCred(context.Background(), want)); !ok || got != want {
		t.Errorf("WithCred round trip = %+v %v", got, ok)
	}
	failed := context.WithValue(context.Background(), ctxKey{}, &ctxValue{err: errors.New("boom")})
	if _, ok := FromContext(failed); ok || ContextError(failed) == nil {
		t.Error("a failed read passed as a caller")
	}
}
