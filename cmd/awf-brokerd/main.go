// Command awf-brokerd is the credential broker daemon.
//
//	awf-brokerd --config FILE [--socket PATH] [--log-level L]
//	awf-brokerd [--config FILE] --check-config [FILE]
//	awf-brokerd --dev
//
// Without --config it reads the gh-aw api-proxy's environment (AWF_AUTH_*,
// the *_API_KEY and *_API_TARGET variables, the Anthropic SDK's names);
// --check-config without a file describes what that environment builds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/daemon"
	"github.com/awf-broker/awf-broker/broker/devenv"
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
		check    = &checkFlag{}
		socket   = fs.String("socket", "", "socket `path` (overrides the config)")
		logLevel = fs.String("log-level", "", "trace | debug | info | warn | error (overrides the config)")
		dev      = fs.Bool("dev", false, "run against in-process fakes, socket ./awf-broker.sock")
		showVer  = fs.Bool("version", false, "print the version and exit")
	)
	fs.Var(check, "check-config", "validate the config `file` (none: the environment) and exit (2 on problems)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVer {
		fmt.Fprintln(stdout, "awf-brokerd", version)
		return 0
	}
	if check.set {
		file, err := check.file(fs.Args(), *cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		return checkConfig(file, stdout, stderr)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// A core dump of this process would hold every token; not dumpable
	// also keeps other processes of our uid out of /proc/self/mem.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintln(stderr, "error: prctl(PR_SET_DUMPABLE, 0):", err)
		return 1
	}

	// Signals are caught before anything starts, so a SIGHUP during start
	// does not kill the daemon.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	opts := daemon.Options{Version: version}
	var cfg *config.Config
	var err error
	switch {
	case *dev:
		sock := "awf-broker.sock"
		if *socket != "" {
			sock = *socket
		}
		d, derr := devenv.Start(sock, time.Hour)
		if derr != nil {
			fmt.Fprintln(stderr, "error:", derr)
			return 1
		}
		defer d.Close()
		// As the Console does: a token lives no longer than its GitHub JWT.
		d.Anthropic.SetBoundByAssertion(true)
		cfg, opts.Lookup = d.Config, d.Lookup
		fmt.Fprint(stdout, d.Banner("go run ./cmd/awf-broker-cli"))
	default:
		cfg, err = loadConfig(*cfgPath)
		opts.ConfigPath = *cfgPath
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	// The command line wins over the file, at start and on every reload.
	opts.Override = func(c *config.Config) {
		if *socket != "" {
			c.Socket.Path = *socket
		}
		if *logLevel != "" {
			c.Log.Level = *logLevel
		}
	}
	opts.Override(cfg)
	opts.Config = cfg
	log := hclog.New(&hclog.LoggerOptions{
		Name: "awf-brokerd", Level: hclog.LevelFromString(cfg.Log.Level), JSONFormat: cfg.Log.Format == "json", Output: stderr,
	})
	opts.Logger = log
	for _, n := range cfg.Notes {
		log.Info("environment read differently from the api-proxy", "note", n)
	}
	if opts.Listener, err = inheritedListener(); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	if opts.Listener != nil {
		log.Info("using the socket systemd passed; the config's socket settings do not apply", "socket", opts.Listener.Addr().String())
	}
	d, err := daemon.New(opts)
	if err != nil {
		if opts.Listener != nil {
			opts.Listener.Close()
		}
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	sock := cfg.Socket.Path
	if opts.Listener != nil {
		sock = opts.Listener.Addr().String()
	}
	return serve(d, sigs, notifier{log: log}, healthCheck(sock), log, stderr)
}

// serve runs d until SIGINT or SIGTERM, reloading on SIGHUP, and speaks
// sd_notify all along.
func serve(d *daemon.Daemon, sigs <-chan os.Signal, n notifier, check func(context.Context) error, log hclog.Logger, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.run(ctx, d.FirstRound(), check) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s != syscall.SIGHUP {
					log.Info("stopping: draining in-flight requests", "signal", s.String())
					n.stopping()
					cancel()
					return
				}
				n.reloading()
				// ReloadFile logs what it did or why it refused.
				if _, err := d.ReloadFile(); err != nil {
					n.reloaded("reload failed; serving the previous config")
				} else {
					n.reloaded("serving")
				}
			}
		}
	}()
	err := d.Run(ctx)
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}
