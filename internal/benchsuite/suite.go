package benchsuite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/awf-broker/awf-broker/internal/procs"
)

// Options configures a run.
type Options struct {
	// Duration is how long each throughput measurement runs (default 1 s).
	Duration time.Duration
	// Rotation is how long the token-rotation run lasts (default 9 s).
	Rotation time.Duration
	// Leases is how many leases the broker process holds (default 10,000).
	Leases int
	// Bins are prebuilt binaries; empty: build them into a temp directory.
	Bins procs.Bins
	// StubBroker, when set, is the command (the socket path is appended)
	// that serves ServeStubBroker in a separate process; empty: in process.
	StubBroker []string
	// NaiveProxy, when set, is the command (listen address, upstream URL
	// and stub broker socket are appended) that serves ServeNaive in a
	// separate process; the real-workload step needs it and StubBroker.
	NaiveProxy []string
	// RawRelay, when set, is the command (listen address and upstream
	// host:port are appended) that serves ServeRelay in a separate process:
	// the workload's floor for any one-hop proxy, with its CPU time.
	RawRelay []string
	// ForwarderEnv is added to the environment of the workload's forwarder
	// process (e.g. GOMAXPROCS=1, to measure a runtime setting).
	ForwarderEnv []string
	// BaselineCLI, when set, is an earlier awf-broker-cli build measured on
	// the workload beside this one, for before/after rows.
	BaselineCLI string
	// WorkloadEvents is how many SSE events answer each workload call
	// (default WorkloadEvents). One event leaves the cost of the request
	// itself; the difference to the default run is the cost of the events.
	WorkloadEvents int
	// Only, when set, runs just the steps it names (e.g. "workload").
	Only []string
	// Log receives progress lines (default stderr).
	Log io.Writer
}

// suite is one run in progress.
type suite struct {
	opts Options
	dir  string
	bins procs.Bins
	rep  *Report
}

// Run measures everything and returns the report. A step that fails is
// logged and named in the returned error; the other steps still run.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Duration <= 0 {
		opts.Duration = time.Second
	}
	if opts.Rotation <= 0 {
		opts.Rotation = 9 * time.Second
	}
	if opts.Leases <= 0 {
		opts.Leases = 10000
	}
	if opts.WorkloadEvents <= 0 {
		opts.WorkloadEvents = WorkloadEvents
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	dir, err := os.MkdirTemp("", "awf-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	s := &suite{opts: opts, dir: dir, bins: opts.Bins, rep: &Report{Date: time.Now().UTC(), Machine: thisMachine()}}
	if s.bins.Daemon == "" {
		s.logf("building the binaries")
		if s.bins, err = procs.Build(ctx, dir); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	var errs []error
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"header grants", s.grants},
		{"forwarding", s.forwarding},
		{"workload", s.workload},
		{"baseline", s.baseline},
		{"cold-start stampede", s.stampede},
		{"token rotation under load", s.rotation},
		{"processes", s.processes},
	} {
		if len(s.opts.Only) > 0 && !slices.Contains(s.opts.Only, step.name) {
			continue
		}
		t := time.Now()
		s.logf("%s…", step.name)
		if err := s.inDir(step.name, step.run, ctx); err != nil {
			s.logf("%s failed: %v", step.name, err)
			errs = append(errs, fmt.Errorf("%s: %w", step.name, err))
		}
		s.logf("%s: %.1f s", step.name, time.Since(t).Seconds())
	}
	s.rep.Elapsed = time.Since(start).Round(100 * time.Millisecond).String()
	return s.rep, errors.Join(errs...)
}

// inDir runs a step with its own scratch directory, so sockets never clash.
func (s *suite) inDir(name string, run func(context.Context) error, ctx context.Context) error {
	sub, err := os.MkdirTemp(s.dir, "step-")
	if err != nil {
		return err
	}
	outer := s.dir
	s.dir = sub
	defer func() { s.dir = outer }()
	return run(ctx)
}

// check fails the step when a measurement had errors.
func (s *suite) check(what string, rs ...Result) error {
	for _, r := range rs {
		if r.Errors > 0 {
			return fmt.Errorf("%s: %d of %d calls failed, first: %w", what, r.Errors, r.N, r.FirstErr)
		}
		if r.N == 0 {
			return fmt.Errorf("%s: no call completed", what)
		}
	}
	return nil
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.opts.Log, "bench: "+format+"\n", args...)
}
