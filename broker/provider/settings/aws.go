package settings

import (
	"strings"
	"time"
)

// AWS defaults and limits (protocols.md §3).
const (
	AWSDefaultAudience    = "sts.amazonaws.com"
	AWSDefaultSessionName = "awf-broker"
	AWSDefaultDuration    = time.Hour
	// AWSMinDuration and AWSMaxDuration bound DurationSeconds as STS does.
	AWSMinDuration = 15 * time.Minute
	AWSMaxDuration = 12 * time.Hour
)

// AWS is the aws provider's settings: STS AssumeRoleWithWebIdentity for
// RoleARN, SigV4 for Bedrock Runtime in Region.
type AWS struct {
	RoleARN, Region string
	// SessionName is the RoleSessionName (default "awf-broker").
	SessionName string
	// Audience is the JWT's audience (default "sts.amazonaws.com").
	Audience string
	// TokenURL is the STS endpoint (default the region's, AWSTokenURL).
	TokenURL string
	// Duration is the DurationSeconds asked for (default 1h).
	Duration time.Duration
}

// partition is one AWS partition: how its regions are named and its DNS
// suffix (botocore's endpoints.json "partitions").
type partition struct{ regionInfix, dns string }

var partitions = []partition{
	{"-isob-", "sc2s.sgov.gov"},
	{"-isoe-", "cloud.adc-e.uk"},
	{"-isof-", "csp.hci.ic.gov"},
	{"-iso-", "c2s.ic.gov"},
}

// dnsSuffix returns the DNS suffix of region's partition.
func dnsSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	for _, p := range partitions {
		if strings.Contains(region, p.regionInfix) {
			return p.dns
		}
	}
	return "amazonaws.com"
}

// AWSTokenURL is region's regional STS endpoint.
func AWSTokenURL(region string) string {
	return "https://sts." + region + "." + dnsSuffix(region)
}

// WithDefaults returns s with its defaults applied.
func (s AWS) WithDefaults() AWS {
	setDefault(&s.Audience, AWSDefaultAudience)
	setDefault(&s.SessionName, AWSDefaultSessionName)
	if s.Region != "" {
		setDefault(&s.TokenURL, AWSTokenURL(s.Region))
	}
	if s.Duration == 0 {
		s.Duration = AWSDefaultDuration
	}
	return s
}

// Check reports every problem with s.
func (s AWS) Check() error {
	c := checker{provider: "aws"}
	if c.required("role_arn", s.RoleARN) && !ValidRoleARN(s.RoleARN) {
		c.add("role_arn", "invalid role ARN %q (want arn:aws:iam::<12 digits>:role/NAME)", s.RoleARN)
	}
	if c.required("region", s.Region) && !ValidRegion(s.Region) {
		c.add("region", "invalid region %q (want e.g. \"us-east-1\")", s.Region)
	}
	if s.SessionName != "" && !ValidSessionName(s.SessionName) {
		c.add("session_name", "invalid session name %q (want 2-64 of letters, digits and +=,.@_-)", s.SessionName)
	}
	if d := s.Duration; d != 0 && (d < AWSMinDuration || d > AWSMaxDuration || d%time.Second != 0) {
		c.add("duration", "must be whole seconds from 15m to 12h, as STS takes (got %s)", d)
	}
	c.endpoint("token_url", s.TokenURL)
	return c.err()
}

// DefaultHosts is the region's Bedrock Runtime host.
func (s AWS) DefaultHosts() []string {
	return []string{"bedrock-runtime." + s.Region + "." + dnsSuffix(s.Region)}
}

// NeedsIdentity reports true.
func (AWS) NeedsIdentity() bool { return true }
