package config

import (
	"fmt"
	"net"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// CheckMetricsListen returns what is wrong with m's listen address, or "".
// The TCP /metrics has no peer check (the socket's /metrics is admin-only)
// and names every credential, its state and lease counts, so it listens
// only on loopback unless allow_remote says otherwise. A host name other
// than localhost is refused too: it may resolve to anything.
func CheckMetricsListen(m Metrics) string {
	if m.Listen == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(m.Listen)
	if err != nil {
		return fmt.Sprintf("must be host:port (got %q)", m.Listen)
	}
	if m.AllowRemote || settings.IsLoopbackHost(host) {
		return ""
	}
	what := fmt.Sprintf("%q is not a loopback address", m.Listen)
	if host == "" {
		what = fmt.Sprintf("%q listens on every interface", m.Listen)
	}
	return what + ": the TCP /metrics has no caller check and names every credential and its state; " +
		"listen on 127.0.0.1 or [::1], or set allow_remote = true to expose it on purpose"
}
