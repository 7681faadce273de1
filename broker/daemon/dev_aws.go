package daemon

import (
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// The --dev AWS account: made up; the STS fake trusts only this role.
const (
	devAWSRoleARN = "arn:aws:iam::123456789012:role/awf-dev-agent"
	devAWSRegion  = "us-east-1"
)

// DevAWS is the --dev Bedrock setup: the STS and Bedrock Runtime fakes.
type DevAWS struct {
	STS     *fake.STS
	Bedrock *fake.Bedrock
}

// startDevAWS starts the STS fake (trusting gh's JWTs, issuing credentials
// that live lifetime) and the Bedrock Runtime fake that accepts only
// signatures made with them, and returns the "bedrock" credential.
func startDevAWS(gh *fake.GitHub, lifetime time.Duration, allow config.Allow) (DevAWS, config.Credential) {
	sts := fake.NewSTS(fake.STSOptions{GitHub: gh, RoleARN: devAWSRoleARN, Lifetime: lifetime})
	br := fake.NewBedrock(fake.BedrockOptions{STS: sts, Region: devAWSRegion})
	cred := config.Credential{
		Name: "bedrock", Provider: "aws", Identity: "github", Audience: "sts.amazonaws.com",
		TokenURL: sts.URL(), RoleARN: devAWSRoleARN, Region: devAWSRegion, SessionName: "awf-broker",
		Duration: time.Hour, Hosts: []string{br.Host(), "bedrock-runtime." + devAWSRegion + ".amazonaws.com"}, Target: br.URL(),
		LeaseTTL: 15 * time.Minute, Allow: allow,
	}
	return DevAWS{STS: sts, Bedrock: br}, cred
}

// Close stops the fakes.
func (a DevAWS) Close() {
	a.Bedrock.Close()
	a.STS.Close()
}
