package procs

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadMemoryOfSelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS < 1<<20 || m.HWM < m.RSS {
		t.Fatalf("memory = %+v: want RSS ≥ 1 MiB and HWM ≥ RSS", m)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Fatal("no error for a pid that cannot exist")
	}
}

func TestStartCollectsOutputAndExit(t *testing.T) {
	p, err := Start("/bin/sh", []string{"-c", `echo "out $PROCS_TEST"; echo err >&2; exit 3`}, []string{"PROCS_TEST=yes"})
	if err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if out := p.Output(); !strings.Contains(out, "out yes") || !strings.Contains(out, "err") {
		t.Errorf("output %q", out)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	p, err := Start("/bin/sh", []string{"-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.Output(), "ready") {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	_ = p.Stop(200 * time.Millisecond)
	if p.ExitCode() != -1 || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v; want killed by a signal soon after the grace", p.ExitCode(), time.Since(start))
	}
	if err := p.Signal(syscall.SIGTERM); err == nil {
		t.Error("signalling an exited process succeeded")
	}
}

func TestCachedBuildsOnceAndRemoves(t *testing.T) {
	var c Cached
	b := c.Must(t)
	for _, bin := range []string{b.Daemon, b.CLI} {
		if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
			t.Fatalf("%s: %v, want an executable", bin, err)
		}
	}
	if again := c.Must(t); again != b {
		t.Fatalf("second call built %+v, want the first's %+v", again, b)
	}
	c.Remove()
	if _, err := os.Stat(b.CLI); !os.IsNotExist(err) {
		t.Fatalf("after Remove: %v, want the binaries gone", err)
	}
}
