// Command awf-brokerd is the credential broker daemon.
//
//	awf-brokerd --config FILE [--socket PATH] [--log-level L]
//	awf-brokerd --check-config FILE
//	awf-brokerd --dev
//
// Without --config it reads the environment (AWF_AUTH_*, ANTHROPIC_*).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/daemon"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("awf-brokerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfgPath  = fs.String("config", "", "HCL config `file` (default: build one from the environment)")
		check    = fs.String("check-config", "", "validate the config `file` and exit (2 on problems)")
		socket   = fs.String("socket", "", "socket `path` (overrides the config)")
		logLevel = fs.String("log-level", "", "trace | debug | info | warn | error (overrides the config)")
		dev      = fs.Bool("dev", false, "run against in-process fakes, socket ./awf-broker.sock")
		showVer  = fs.Bool("version", false, "print the version and exit")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVer {
		fmt.Fprintln(stdout, "awf-brokerd", version)
		return 0
	}
	if *check != "" {
		cfg, err := config.Load(*check)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		fmt.Fprintln(stdout, "ok:", cfg.Summary())
		return 0
	}
	// A core dump of this process would hold every token.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	opts := daemon.Options{Version: version}
	var cfg *config.Config
	var err error
	switch {
	case *dev:
		sock := "awf-broker.sock"
		if *socket != "" {
			sock = *socket
		}
		d, derr := daemon.StartDev(sock, time.Hour)
		if derr != nil {
			fmt.Fprintln(stderr, "error:", derr)
			return 1
		}
		defer d.Close()
		cfg, opts.Lookup = d.Config, d.Lookup
		fmt.Fprint(stdout, d.Banner("go run ./cmd/awf-broker-cli"))
	case *cfgPath != "":
		cfg, err = config.Load(*cfgPath)
	default:
		cfg, err = config.FromEnv(os.LookupEnv)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *socket != "" {
		cfg.Socket.Path = *socket
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	opts.Config = cfg
	opts.Logger = hclog.New(&hclog.LoggerOptions{
		Name: "awf-brokerd", Level: hclog.LevelFromString(cfg.Log.Level), JSONFormat: cfg.Log.Format == "json", Output: stderr,
	})
	d, err := daemon.New(opts)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}
