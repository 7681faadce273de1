// Command awf-bench is `make bench`: it runs internal/benchsuite once,
// prints the table and, with -out (BENCH_OUT), writes it as JSON.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/awf-broker/awf-broker/internal/benchsuite"
	"github.com/awf-broker/awf-broker/internal/procs"
)

func main() {
	var (
		out      = flag.String("out", os.Getenv("BENCH_OUT"), "write the report as JSON to `file` (default $BENCH_OUT)")
		dur      = flag.Duration("duration", time.Second, "length of each throughput measurement")
		rotation = flag.Duration("rotation", 9*time.Second, "length of the token-rotation run")
		leases   = flag.Int("leases", 10000, "leases the broker process holds")
		bin      = flag.String("bin", "", "`dir`ectory with prebuilt awf-brokerd and awf-broker-cli (default: build them)")
		strict   = flag.Bool("strict", false, "exit 1 when a goal is not met, not only when a step fails")
		stub     = flag.String("stub-broker", "", "internal: serve the naive reference's stub broker on the unix socket `path`")
		naive    = flag.Bool("naive-proxy", false, "internal: serve the naive reference on ADDR UPSTREAM BROKER-SOCKET (the arguments)")
		relay    = flag.Bool("raw-relay", false, "internal: serve the raw TCP relay on ADDR to TARGET-HOST:PORT (the arguments)")
		fwdEnv   = flag.String("forwarder-env", "", "extra environment for the workload's forwarder process, comma-separated K=V")
		baseline = flag.String("baseline-cli", "", "an earlier awf-broker-cli `binary` to measure on the workload beside this build (before/after rows)")
		events   = flag.Int("workload-events", benchsuite.WorkloadEvents, "SSE events answering each workload call (1 leaves the cost of the request itself)")
		only     = flag.String("only", "", "run only these steps, comma-separated (e.g. workload)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *stub != "" {
		if err := benchsuite.ServeStubBroker(ctx, *stub); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *naive {
		if flag.NArg() != 3 {
			fmt.Fprintln(os.Stderr, "awf-bench -naive-proxy ADDR UPSTREAM BROKER-SOCKET")
			os.Exit(2)
		}
		if err := benchsuite.ServeNaive(ctx, flag.Arg(0), flag.Arg(1), flag.Arg(2)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *relay {
		if flag.NArg() != 2 {
			fmt.Fprintln(os.Stderr, "awf-bench -raw-relay ADDR TARGET-HOST:PORT")
			os.Exit(2)
		}
		if err := benchsuite.ServeRelay(ctx, flag.Arg(0), flag.Arg(1)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	opts := benchsuite.Options{Duration: *dur, Rotation: *rotation, Leases: *leases, WorkloadEvents: *events}
	if *fwdEnv != "" {
		opts.ForwarderEnv = strings.Split(*fwdEnv, ",")
	}
	opts.BaselineCLI = *baseline
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	if self, err := os.Executable(); err == nil {
		opts.StubBroker = []string{self, "-stub-broker"}
		opts.NaiveProxy = []string{self, "-naive-proxy"}
		opts.RawRelay = []string{self, "-raw-relay"}
	}
	if *bin != "" {
		opts.Bins = procs.Bins{Daemon: filepath.Join(*bin, "awf-brokerd"), CLI: filepath.Join(*bin, "awf-broker-cli")}
	}
	rep, err := benchsuite.Run(ctx, opts)
	code := 0
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	if rep == nil {
		os.Exit(1)
	}
	fmt.Println()
	if werr := rep.WriteTable(os.Stdout); werr != nil {
		fmt.Fprintln(os.Stderr, werr)
		code = 1
	}
	if gaps := rep.Failed(); len(gaps) > 0 {
		fmt.Printf("\n%d goal(s) not met:\n", len(gaps))
		for _, g := range gaps {
			fmt.Printf("  - %s / %s: %s\n", g.Section, g.Name, g.Goal)
		}
		if *strict {
			code = 1
		}
	}
	if *out != "" {
		f, ferr := os.Create(*out)
		if ferr == nil {
			ferr = rep.WriteJSON(f)
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
		}
		if ferr != nil {
			fmt.Fprintln(os.Stderr, "bench:", ferr)
			code = 1
		} else {
			fmt.Println("\nwrote", *out)
		}
	}
	os.Exit(code)
}
