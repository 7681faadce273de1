package forward

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Route is one listening address forwarding to one upstream under one
// credential: the CLI's --listen/--credential/--upstream, or one --route.
type Route struct {
	// Listen is host:port, always with a host (ParseListen).
	Listen     string
	Credential string
	Upstream   *url.URL
}

// String renders r in the --route syntax, LISTEN=CREDENTIAL=URL.
func (r Route) String() string {
	u := ""
	if r.Upstream != nil {
		u = r.Upstream.String()
	}
	return r.Listen + "=" + r.Credential + "=" + u
}

// ParseRoute parses the CLI's --route value "PORT=CREDENTIAL=URL", e.g.
// "10001=anthropic=https://api.anthropic.com". PORT may also be HOST:PORT;
// a bare port listens on loopback only (ParseListen).
func ParseRoute(s string) (Route, error) {
	listen, rest, ok := strings.Cut(s, "=")
	cred, rawURL, ok2 := strings.Cut(rest, "=")
	if !ok || !ok2 {
		return Route{}, fmt.Errorf("route %q: want PORT=CREDENTIAL=URL, e.g. 10001=anthropic=https://api.anthropic.com", s)
	}
	addr, err := ParseListen(listen)
	if err != nil {
		return Route{}, fmt.Errorf("route %q: %w", s, err)
	}
	if err := checkCredentialName(cred); err != nil {
		return Route{}, fmt.Errorf("route %q: %w", s, err)
	}
	u, err := ParseUpstream(rawURL)
	if err != nil {
		return Route{}, fmt.Errorf("route %q: %w", s, err)
	}
	return Route{Listen: addr, Credential: cred, Upstream: u}, nil
}

// DefaultListenHost is where a listen address without a host binds. A
// forwarder grants its credential to whoever reaches its port, so it is
// reachable only from its own network namespace unless an address says
// otherwise (0.0.0.0:PORT, or a container's interface).
const DefaultListenHost = "127.0.0.1"

// ParseListen accepts PORT, :PORT or HOST:PORT and returns host:port; a
// missing host is DefaultListenHost, never every interface.
func ParseListen(s string) (string, error) {
	host, port := "", s
	if strings.Contains(s, ":") {
		var err error
		if host, port, err = net.SplitHostPort(s); err != nil {
			return "", fmt.Errorf("listen address %q: want PORT or HOST:PORT", s)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("listen address %q: port must be a number from 1 to 65535", s)
	}
	if host == "" {
		host = DefaultListenHost
	}
	return net.JoinHostPort(host, port), nil
}

func checkCredentialName(s string) error {
	if s == "" {
		return errors.New("credential name is empty")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("credential name %q: use letters, digits, '-', '_' and '.'", s)
		}
	}
	return nil
}

// ParseUpstream parses an upstream base URL: https, or http to a loopback
// address (tests and --dev); no user info, no fragment.
func ParseUpstream(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("upstream URL is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("upstream URL: %w", err)
	}
	if err := checkUpstream(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkUpstream(u *url.URL) error {
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("upstream URL %q: scheme must be https (or http to a loopback address)", u.Redacted())
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("upstream URL %q: no host", u.Redacted())
	case u.User != nil:
		return fmt.Errorf("upstream URL %q: must not carry user info; the broker supplies credentials", u.Redacted())
	case u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("upstream URL %q: must be scheme://host[:port][/path][?query]", u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("upstream URL %q: plain http is allowed only to a loopback address", u.Redacted())
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
