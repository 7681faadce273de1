package settings

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// The patterns every part checks against. They are unexported so that no
// one can change them; callers use the Valid* functions.
var (
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[bef]?)?-[a-z]+-\d+$`)
	roleARNRE     = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[bef]):iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	wipRE         = regexp.MustCompile(`^projects/\d+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)
	gcpAccountRE  = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$`)
	// hostRE is a scope host: a host name, optionally "*." or "*-" first
	// (*-aiplatform.googleapis.com: any first label ending in
	// "-aiplatform"), optionally ":port".
	hostRE = regexp.MustCompile(`^(\*[.-])?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?(:\d{1,5})?$`)
	// requestHostRE is an allowed_request_hosts entry: only "*." wildcards.
	requestHostRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?(:\d{1,5})?$`)
)

// ValidRegion reports whether s is an AWS region name: commercial, China,
// GovCloud (us-gov-west-1) or an isolated partition (us-iso-east-1,
// us-isob-east-1).
func ValidRegion(s string) bool { return regionRE.MatchString(s) }

// ValidRoleARN reports whether s is an IAM role ARN in a partition the
// broker knows.
func ValidRoleARN(s string) bool { return roleARNRE.MatchString(s) }

// ValidSessionName reports whether s is a RoleSessionName STS takes.
func ValidSessionName(s string) bool { return sessionNameRE.MatchString(s) }

// ValidWorkloadIdentityProvider reports whether s is a GCP workload
// identity provider's resource name.
func ValidWorkloadIdentityProvider(s string) bool { return wipRE.MatchString(s) }

// ValidHost reports whether s is a credential's scope host entry
// (DESIGN §4): lower-case, "*." or "*-" only as the first characters.
func ValidHost(s string) bool { return hostRE.MatchString(s) }

// ValidRequestHost reports whether s is an allowed_request_hosts entry.
func ValidRequestHost(s string) bool { return requestHostRE.MatchString(s) }

// IsLoopbackHost reports whether host (no port; brackets allowed) is a
// loopback address or localhost.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckEndpoint returns what is wrong with an upstream endpoint URL, or
// "": it must be absolute https, or plain http to a loopback host (tests
// and --dev).
func CheckEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("invalid URL %q", raw)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && IsLoopbackHost(u.Hostname())) {
		return ""
	}
	return fmt.Sprintf("%q must be https (plain http only to a loopback address)", u.Redacted())
}
