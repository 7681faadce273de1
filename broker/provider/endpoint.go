package provider

import "github.com/awf-broker/awf-broker/broker/provider/settings"

// IsLoopbackHost reports whether host (no port) is a loopback address or
// localhost; the rule itself is settings.IsLoopbackHost.
func IsLoopbackHost(host string) bool { return settings.IsLoopbackHost(host) }
