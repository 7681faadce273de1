package config

import (
	"testing"
)

// TestMetricsListenExposure pins the metrics exposure rule: loopback only,
// unless allow_remote = true, with the reason in the error.
func TestMetricsListenExposure(t *testing.T) {
	const reason = `: the TCP /metrics has no caller check and names every credential and its state; listen on 127.0.0.1 or [::1], or set allow_remote = true to expose it on purpose`
	cases := []struct {
		name, block, want string // want "" when accepted
	}{
		{"ipv4 loopback", `listen = "127.0.0.1:9464"`, ""},
		{"ipv6 loopback", `listen = "[::1]:9464"`, ""},
		{"localhost", `listen = "localhost:9464"`, ""},
		{"every interface", `listen = "0.0.0.0:9464"`, `t.hcl:2,3: metrics: listen: "0.0.0.0:9464" is not a loopback address` + reason},
		{"no host", `listen = ":9464"`, `t.hcl:2,3: metrics: listen: ":9464" listens on every interface` + reason},
		{"a LAN address", `listen = "10.1.2.3:9464"`, `t.hcl:2,3: metrics: listen: "10.1.2.3:9464" is not a loopback address` + reason},
		{"a host name", `listen = "metrics.internal:9464"`, `t.hcl:2,3: metrics: listen: "metrics.internal:9464" is not a loopback address` + reason},
		{"every interface, allowed", "listen = \"0.0.0.0:9464\"\n  allow_remote = true", ""},
		{"allow_remote not a bool", "listen = \"0.0.0.0:9464\"\n  allow_remote = \"yes\"", `t.hcl:3,3: metrics: allow_remote: must be true or false`},
		{"no port", `listen = "127.0.0.1"`, `t.hcl:2,3: metrics: listen: must be host:port (got "127.0.0.1")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "metrics {\n  " + c.block + "\n}\ncredential \"k\" {\n  provider = \"static\"\n  header = \"x-api-key\"\n  value_env = \"K\"\n  hosts = [\"api.anthropic.com\"]\n}\n"
			cfg, err := Parse([]byte(src), "t.hcl")
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
			if err == nil && cfg.Metrics.Listen == "" {
				t.Error("listen lost")
			}
		})
	}
}
