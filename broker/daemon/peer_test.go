package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/client"
)

const nobody = 65534

// TestHelperProcess is not a test: the tests below re-run the test binary
// as uid 65534 to make requests over the socket as another user.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("AWF_HELPER_SOCKET") == "" {
		t.Skip("helper process only")
	}
	c := client.New(os.Getenv("AWF_HELPER_SOCKET"))
	ctx := context.Background()
	var err error
	var out any
	switch os.Getenv("AWF_HELPER_ACTION") {
	case "leases":
		out, err = c.Leases(ctx)
	case "headers":
		out, err = c.Headers(ctx, os.Getenv("AWF_HELPER_LEASE"), os.Getenv("AWF_HELPER_SECRET"), &api.HeadersRequest{Method: "POST", URL: os.Getenv("AWF_HELPER_URL")})
	case "create":
		var l *api.CreatedLease
		l, err = c.CreateLease(ctx, api.CreateLeaseRequest{Credential: os.Getenv("AWF_HELPER_CREDENTIAL")})
		if err == nil {
			out = l.Lease
		}
	case "credentials":
		out, err = c.Credentials(ctx)
	case "watch":
		out, err = helperWatch(ctx, c)
	case "metrics-like":
		_, err = c.Refresh(ctx, "anthropic")
	}
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Printf("RESULT %d %s\n", e.Status, e.Code)
		return
	}
	if err != nil {
		fmt.Printf("RESULT error %v\n", err)
		return
	}
	b, _ := json.Marshal(out)
	fmt.Printf("RESULT 200 %s\n", b)
}

// helperBinary copies the test binary where uid 65534 may execute it (the
// go build cache is private to root).
func helperBinary(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func asNobody(t *testing.T, bin string, b *broker, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$")
	cmd.Env = append([]string{"AWF_HELPER_SOCKET=" + b.sock, "HOME=/"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if r, ok := strings.CutPrefix(line, "RESULT "); ok {
			return r
		}
	}
	t.Fatalf("helper printed no result:\n%s", out)
	return ""
}

func TestOtherUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a helper as uid 65534")
	}
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		d.Config.Credentials[1].Allow = config.Allow{UIDs: []uint32{nobody}}
	}})
	ctx := context.Background()
	mine, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + apiHost(b) + "/v1/messages"
	bin := helperBinary(t)
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"cannot see root's leases", []string{"AWF_HELPER_ACTION=leases"}, "200 []"},
		{"cannot use root's lease secret", []string{"AWF_HELPER_ACTION=headers", "AWF_HELPER_LEASE=" + mine.ID, "AWF_HELPER_SECRET=" + mine.Secret, "AWF_HELPER_URL=" + url}, "403 forbidden"},
		{"cannot lease a credential outside its allow", []string{"AWF_HELPER_ACTION=create", "AWF_HELPER_CREDENTIAL=anthropic"}, "403 forbidden"},
		{"sees only what it may lease", []string{"AWF_HELPER_ACTION=credentials"}, `200 [{"name":"anthropic-key"`},
		{"is not an admin", []string{"AWF_HELPER_ACTION=metrics-like"}, "403 forbidden"},
		{"may lease what its allow names", []string{"AWF_HELPER_ACTION=create", "AWF_HELPER_CREDENTIAL=anthropic-key"}, `200 {"id":`},
	}
	for _, c := range cases {
		if got := asNobody(t, bin, b, c.env...); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: got %q, want prefix %q", c.name, got, c.want)
		}
	}
	// The lease nobody created is listed with its holder.
	leases, _ := b.client.Leases(ctx)
	found := false
	for _, l := range leases {
		found = found || (l.Holder.UID == nobody && l.Credential == "anthropic-key")
	}
	if !found {
		t.Errorf("admin does not see nobody's lease: %+v", leases)
	}
	if strings.Contains(b.logs.String(), mine.Secret) {
		t.Error("a lease secret reached the log")
	}
}
