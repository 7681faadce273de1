package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// newKey mints a key at run time, so none is ever in the tree.
func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sk-test-" + hex.EncodeToString(b)
}

// rotate replaces path atomically, as a secrets manager does.
func rotate(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestSIGHUPServesRotatedKey runs the real daemon with a static key in a
// value_file. After the file is rotated and the daemon gets SIGHUP, the
// same lease is granted the new key (the config's text never changed); a
// SIGHUP while the key file is world-readable is refused and the current
// key keeps being served. No key reaches the daemon's output.
func TestSIGHUPServesRotatedKey(t *testing.T) {
	dir := t.TempDir()
	sock, cfgPath, keyPath := filepath.Join(dir, "broker.sock"), filepath.Join(dir, "config.hcl"), filepath.Join(dir, "api.key")
	first, second := newKey(t), newKey(t)
	rotate(t, keyPath, first+"\n")
	writeConfig(t, cfgPath, fmt.Sprintf(`socket {
  path = %q
  mode = "0600"
}
log {
  level  = "debug"
  format = "json"
}
credential "key" {
  provider   = "static"
  header     = "x-api-key"
  value_file = %q
  hosts      = ["api.anthropic.com"]
  allow {
    uids = [%d]
  }
}
`, sock, keyPath, os.Getuid()))
	n := newNotifySocket(t)
	cmd := exec.Command(daemonBin, "--config", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "NOTIFY_SOCKET=" + n.path}
	p := startProc(t, cmd)
	n.expect(t, "READY=1", p)

	c := client.New(sock)
	defer c.Close()
	ctx := context.Background()
	l, err := c.CreateLease(ctx, api.CreateLeaseRequest{Credential: "key"})
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		h, err := c.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"})
		if err != nil {
			t.Fatalf("headers: %v\nlogs:\n%s", err, p.logs.String())
		}
		return h.Set["x-api-key"]
	}
	hup := func(wantStatus string) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		n.expect(t, "RELOADING=1", p)
		if m := n.expect(t, "READY=1", p); !strings.Contains(m, wantStatus) {
			t.Fatalf("READY after SIGHUP = %q, want %q; logs:\n%s", m, wantStatus, p.logs.String())
		}
	}
	if got := served(); got != first {
		t.Fatal("the first key is not the one served")
	}

	rotate(t, keyPath, second+"\n")
	hup("STATUS=serving")
	if got := served(); got != second {
		t.Fatalf("after rotation and SIGHUP the old key is still served; logs:\n%s", p.logs.String())
	}
	if !waitLog(p, `"changed":"key"`) {
		t.Errorf("the reload does not report the credential as changed:\n%s", p.logs.String())
	}

	rotate(t, keyPath, first+"\n")
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	hup("reload failed")
	if !waitLog(p, "mode 0644): readable by others") {
		t.Errorf("the refusal does not say why:\n%s", p.logs.String())
	}
	if got := served(); got != second {
		t.Fatal("a refused reload changed the key served")
	}

	p.stop(t)
	for _, k := range []string{first, second} {
		if strings.Contains(p.logs.String(), k) {
			t.Fatal("a key reached the daemon's output")
		}
	}
}

// waitLog waits until the daemon's output holds want. The output reaches
// the buffer through a pipe, so a line written before a READY notification
// may arrive after it.
func waitLog(p *proc, want string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.logs.String(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
