package peer

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21\n"
	cases := []struct {
		name      string
		stat      string
		state     byte
		start     uint64
		wantError bool
	}{
		{"plain", "1234 (sleep) S" + tail, 'S', 987654, false},
		{"spaces and parens in comm", "1234 (weird) name)) (x) R" + tail, 'R', 987654, false},
		{"zombie", "1234 (a) Z" + tail, 'Z', 987654, false},
		{"no comm", "1234 sleep S" + tail, 0, 0, true},
		{"short", "1 (x) S 1 2", 0, 0, true},
		{"bad start", "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 notanumber 20", 0, 0, true},
		{"bad state", "1 (x) SS" + tail, 0, 0, true},
	}
	for _, c := range cases {
		state, start, err := parseStat([]byte(c.stat))
		if (err != nil) != c.wantError || state != c.state || start != c.start {
			t.Errorf("%s: parseStat = %q %d %v, want %q %d error=%v", c.name, state, start, err, c.state, c.start, c.wantError)
		}
	}
}

func TestAliveSelf(t *testing.T) {
	pid := int32(os.Getpid())
	st, err := StartTime(pid)
	if err != nil || st == 0 {
		t.Fatalf("StartTime(self) = %d, %v", st, err)
	}
	if !Alive(pid, st) {
		t.Error("Alive(self) = false")
	}
	if Alive(pid, st+1) {
		t.Error("Alive with another start time (a recycled pid) = true")
	}
	if Alive(pid, 0) || Alive(0, st) || Alive(-1, st) {
		t.Error("Alive passed an unknown process")
	}
}

func TestAliveChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := int32(cmd.Process.Pid)
	st, err := StartTime(pid)
	if err != nil || !Alive(pid, st) {
		t.Fatalf("running child: start %d, %v, alive %v", st, err, Alive(pid, st))
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Until it is reaped the child is a zombie: exited, so not alive.
	deadline := time.Now().Add(5 * time.Second)
	for Alive(pid, st) {
		if time.Now().After(deadline) {
			t.Fatal("killed child still alive (not even a zombie)")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if state, _, err := readStat(pid); err != nil || state != 'Z' {
		t.Errorf("unreaped child: state %q, %v; want a zombie", state, err)
	}
	cmd.Wait()
	if Alive(pid, st) {
		t.Error("reaped child reported alive")
	}
	if _, err := StartTime(pid); err == nil {
		t.Error("StartTime of a reaped child succeeded")
	}
}
