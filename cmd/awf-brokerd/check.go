package main

import (
	"fmt"
	"io"
	"os"

	"github.com/awf-broker/awf-broker/broker/config"
)

// checkFlag is --check-config: "--check-config FILE", "--check-config=FILE",
// or a bare "--check-config", which checks the environment (env mode).
type checkFlag struct {
	set  bool
	path string
}

func (c *checkFlag) String() string { return c.path }

// IsBoolFlag lets the flag stand alone; a following FILE is then a
// positional argument, which file picks up.
func (c *checkFlag) IsBoolFlag() bool { return true }

func (c *checkFlag) Set(v string) error {
	c.set = true
	if v != "true" {
		c.path = v
	}
	return nil
}

// file is the config file to check: the flag's own, the one argument
// after it, or --config's (cfgPath); "" for the environment. Flags after
// FILE would be positional and silently ignored, so more than one
// argument is an error.
func (c *checkFlag) file(args []string, cfgPath string) (string, error) {
	switch {
	case len(args) > 1 || (c.path != "" && len(args) > 0):
		return "", fmt.Errorf("--check-config takes one file; unexpected argument %q (flags go before the file)", args[len(args)-1])
	case c.path != "":
		return c.path, nil
	case len(args) == 1:
		return args[0], nil
	}
	return cfgPath, nil
}

// loadConfig reads the config file at path, or builds the config from the
// environment when path is "" (env mode).
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.FromEnv(os.LookupEnv)
	}
	return config.Load(path)
}

// checkConfig validates a config file, or the environment when file is
// "", prints what it would serve (never a secret) and returns the exit
// code: 0, or 2 with every problem on stderr.
func checkConfig(file string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stdout, "ok:", cfg.Summary())
	for _, l := range cfg.Describe() {
		fmt.Fprintln(stdout, "  "+l)
	}
	return 0
}
