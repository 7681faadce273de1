package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

const nobody = 65534

// TestHelperProcess is not a test: TestOtherUID re-runs the test binary
// as uid 65534 to make one request over the socket, and reads
// "RESULT <status> <body>" from its output.
func TestHelperProcess(t *testing.T) {
	sock := os.Getenv("AWF_SERVER_HELPER_SOCKET")
	if sock == "" {
		t.Skip("helper process only")
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var body io.Reader
	if b := os.Getenv("AWF_SERVER_HELPER_BODY"); b != "" {
		body = strings.NewReader(b)
	}
	req, _ := http.NewRequest(os.Getenv("AWF_SERVER_HELPER_METHOD"), "http://unix"+os.Getenv("AWF_SERVER_HELPER_PATH"), body)
	if b := os.Getenv("AWF_SERVER_HELPER_BEARER"); b != "" {
		req.Header.Set("Authorization", "Bearer "+b)
	}
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Printf("RESULT 0 %q\n", err.Error())
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("RESULT %d %s\n", resp.StatusCode, strings.TrimSpace(string(b)))
}

// asNobody runs one request as uid/gid 65534 in a new process.
func (h *harness) asNobody(bin, method, path, body, bearer string) reply {
	h.t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = []string{
		"AWF_SERVER_HELPER_SOCKET=" + h.sock, "AWF_SERVER_HELPER_METHOD=" + method, "AWF_SERVER_HELPER_PATH=" + path,
		"AWF_SERVER_HELPER_BODY=" + body, "AWF_SERVER_HELPER_BEARER=" + bearer,
	}
	cmd.Dir = h.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("helper %s %s: %v\n%s", method, path, err, out)
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			status, b, _ := strings.Cut(strings.TrimSpace(rest), " ")
			r := reply{header: http.Header{}, body: []byte(b)}
			fmt.Sscan(status, &r.status)
			return r
		}
	}
	h.t.Fatalf("helper %s %s printed no result:\n%s", method, path, out)
	return reply{}
}

func (r reply) code(t *testing.T) string {
	t.Helper()
	var p api.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	return p.Code
}

// copyTestBinary copies the running test binary where uid 65534 may run it.
func copyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestOtherUID makes requests over the socket as another user (uid 65534):
// what it may see and do, and what it may not.
func TestOtherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a helper as uid 65534")
	}
	h := newHarness(t, harnessOpts{})
	bin := copyTestBinary(t, h.dir)
	rootLease := h.create(`{"credential":"open"}`)
	headers := `{"method":"POST","url":"https://api.anthropic.com/v1/messages"}`

	// It sees only what it may lease, and none of root's leases.
	r := h.asNobody(bin, "GET", "/v1/credentials", "", "")
	var creds api.CredentialList
	json.Unmarshal(r.body, &creds)
	if r.status != 200 || len(creds.Credentials) != 1 || creds.Credentials[0].Name != "open" {
		t.Errorf("credentials as nobody: %d %s", r.status, r.body)
	}
	if r := h.asNobody(bin, "GET", "/v1/credentials/restricted", "", ""); r.status != 404 || r.code(t) != api.CodeUnknownCredential {
		t.Errorf("hidden credential: %d %s", r.status, r.body)
	}
	if r := h.asNobody(bin, "GET", "/v1/leases", "", ""); r.status != 200 || string(r.body) != `{"leases":[]}` {
		t.Errorf("leases as nobody: %d %s", r.status, r.body)
	}
	// Root's lease secret is useless to it, and root's lease is not its own.
	if r := h.asNobody(bin, "POST", "/v1/leases/"+rootLease.ID+"/headers", headers, rootLease.Secret); r.status != 403 || r.code(t) != api.CodeForbidden {
		t.Errorf("root's secret as nobody: %d %s", r.status, r.body)
	}
	if r := h.asNobody(bin, "DELETE", "/v1/leases/"+rootLease.ID, "", ""); r.status != 403 || r.code(t) != api.CodeForbidden {
		t.Errorf("revoke root's lease as nobody: %d %s", r.status, r.body)
	}
	if r := h.asNobody(bin, "GET", "/metrics", "", ""); r.status != 403 || r.code(t) != api.CodeForbidden {
		t.Errorf("metrics as nobody: %d %s", r.status, r.body)
	}
	// It may not lease what its allow excludes, and may lease what it allows.
	if r := h.asNobody(bin, "POST", "/v1/leases", `{"credential":"restricted"}`, ""); r.status != 403 || r.code(t) != api.CodeForbidden {
		t.Errorf("lease restricted as nobody: %d %s", r.status, r.body)
	}
	r = h.asNobody(bin, "POST", "/v1/leases", `{"credential":"open","label":"nobody"}`, "")
	var mine api.CreatedLease
	if err := json.Unmarshal(r.body, &mine); r.status != 201 || err != nil || mine.Holder.UID != nobody || mine.Holder.GID != nobody || mine.Secret == "" {
		t.Fatalf("lease open as nobody: %d %s", r.status, r.body)
	}
	// A uid-bound lease works from any of its processes.
	if r := h.asNobody(bin, "POST", "/v1/leases/"+mine.ID+"/headers", headers, mine.Secret); r.status != 200 || !strings.Contains(string(r.body), tokenValue) {
		t.Errorf("headers with its own lease: %d %s", r.status, r.body)
	}
	if r := h.asNobody(bin, "GET", "/v1/leases", "", ""); r.status != 200 || !strings.Contains(string(r.body), mine.ID) || strings.Contains(string(r.body), rootLease.ID) {
		t.Errorf("its leases: %d %s", r.status, r.body)
	}
	// Root, as admin, uses nobody's secret in vain too: the uid is wrong.
	if r := h.do("POST", "/v1/leases/"+mine.ID+"/headers", headers, mine.Secret); r.status != 403 {
		t.Errorf("nobody's secret as root: %d %s", r.status, r.body)
	}

	// A process-bound lease serves only the process that made it, and is
	// revoked once that process has exited.
	r = h.asNobody(bin, "POST", "/v1/leases", `{"credential":"open","bind":"process"}`, "")
	var bound api.CreatedLease
	if err := json.Unmarshal(r.body, &bound); r.status != 201 || err != nil {
		t.Fatalf("process lease: %d %s", r.status, r.body)
	}
	if r := h.asNobody(bin, "POST", "/v1/leases/"+bound.ID+"/headers", headers, bound.Secret); r.status != 403 || r.code(t) != api.CodeForbidden {
		t.Errorf("process lease from another process: %d %s", r.status, r.body)
	}
	h.leases.Sweep() // the creating helper has exited and been reaped
	r = h.do("GET", "/v1/leases/"+bound.ID, "", "")
	var after api.Lease
	if err := json.Unmarshal(r.body, &after); err != nil || after.State != api.LeaseRevoked {
		t.Errorf("process lease after its process exited: %d %s", r.status, r.body)
	}
}
