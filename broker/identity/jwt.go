// Package identity holds the sources of subject tokens (the JWTs that
// exchanges trade for upstream credentials): the GitHub Actions OIDC
// endpoint and a file (a projected service-account token). Each Mint
// returns a fresh token; none is kept.
package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

// checkJWT reports whether s looks like a signed JWT: three base64url
// parts whose header is JSON naming an alg. It does not verify anything;
// the upstream does.
func checkJWT(s string) error {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return errors.New("not a JWT (want three dot-separated parts)")
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return errors.New("not a JWT (header is not base64url)")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg == "" {
		return errors.New("not a JWT (header names no alg)")
	}
	return nil
}

// MatchHost reports whether host, a bare host name (a URL's Hostname, no
// port), matches the allowed_request_hosts entry pattern: equal ignoring
// case, or for "*.example.com" one or more labels before example.com; an
// entry with a port matches no bare host. It is the scope hosts' rule,
// settings.MatchHost, on the narrower grammar of settings.ValidRequestHost
// (no "*-" wildcard).
func MatchHost(pattern, host string) bool { return settings.MatchHost(pattern, host) }
