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

// file is the config file to check, "" for the environment.
func (c *checkFlag) file(args []string) string {
	if c.path == "" && len(args) > 0 {
		return args[0]
	}
	return c.path
}

// checkConfig validates a config file, or the environment when file is
// "", prints what it would serve (never a secret) and returns the exit
// code: 0, or 2 with every problem on stderr.
func checkConfig(file string, stdout, stderr io.Writer) int {
	var cfg *config.Config
	var err error
	if file == "" {
		cfg, err = config.FromEnv(os.LookupEnv)
	} else {
		cfg, err = config.Load(file)
	}
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
