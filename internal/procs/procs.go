// Package procs builds and runs the real binaries (awf-brokerd,
// awf-broker-cli) as child processes, for tests and the benchmark suite
// that must see what a process does: its RSS, a SIGKILL, a restart.
package procs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/awf-broker/awf-broker/internal/testlog"
)

// Proc is a running child process whose output is kept.
type Proc struct {
	cmd  *exec.Cmd
	out  *testlog.Buffer
	done chan struct{}
	err  error
}

// Start runs bin with args and the extra environment env (added to the
// current one). Its stdout and stderr are collected.
func Start(bin string, args, env []string) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	p := &Proc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Output returns everything the child wrote so far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the child has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitCode is the child's exit status once Done is closed (-1 for a signal).
func (p *Proc) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig to the child.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop sends SIGTERM and waits up to grace, then SIGKILL. It returns the
// exit error, if any.
func (p *Proc) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// Kill sends SIGKILL and waits for the child to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Memory is a process's resident set, read from /proc/PID/status.
type Memory struct {
	// RSS is VmRSS (now) and HWM is VmHWM (the peak), in bytes.
	RSS, HWM int64
}

// Memory reads the child's VmRSS and VmHWM.
func (p *Proc) Memory() (Memory, error) { return ReadMemory(p.Pid()) }

// ReadMemory reads VmRSS and VmHWM of pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of %d: %w", pid, err)
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.RSS = n << 10
		case "VmHWM":
			m.HWM = n << 10
		}
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("read memory of %d: no VmRSS", pid)
	}
	return m, nil
}
