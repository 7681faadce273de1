package config

import (
	"slices"
	"testing"
)

// TestRestartNeeded: each start-only setting is named when it changes,
// and nothing else is.
func TestRestartNeeded(t *testing.T) {
	base := Config{Socket: Socket{Path: "/run/a.sock", Mode: 0o660}, Metrics: Metrics{Listen: "127.0.0.1:9464"}, Log: Log{Level: "info", Format: "json"}}
	cases := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"the log level applies at once", func(c *Config) { c.Log.Level = "debug" }, nil},
		{"socket path", func(c *Config) { c.Socket.Path = "/run/b.sock" }, []string{"socket"}},
		{"socket mode", func(c *Config) { c.Socket.Mode = 0o600 }, []string{"socket"}},
		{"metrics listener", func(c *Config) { c.Metrics.Listen = "" }, []string{"metrics"}},
		{"log format", func(c *Config) { c.Log.Format = "text" }, []string{"log.format"}},
		{"all three", func(c *Config) { c.Socket.Group = "awf"; c.Metrics.AllowRemote = true; c.Log.Format = "text" }, []string{"socket", "metrics", "log.format"}},
	}
	for _, c := range cases {
		next := base
		c.change(&next)
		if got := RestartNeeded(&base, &next); !slices.Equal(got, c.want) {
			t.Errorf("%s: RestartNeeded = %q, want %q", c.name, got, c.want)
		}
	}
}
