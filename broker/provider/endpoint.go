package provider

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// IsLoopbackHost reports whether host (no port) is a loopback address or
// localhost.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckEndpoint returns an error unless raw is an absolute https URL, or
// plain http to a loopback host (tests and --dev).
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("endpoint does not parse: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("endpoint %q is not an absolute URL", u.Redacted())
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("endpoint %s://%s must be https (plain http only to a loopback address)", u.Scheme, u.Host)
	}
}
