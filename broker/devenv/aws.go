package devenv

import (
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// The --dev AWS account: made up; the STS fake trusts only this role.
const (
	AWSRoleARN = "arn:aws:iam::123456789012:role/awf-dev-agent"
	AWSRegion  = "us-east-1"
)

// AWS is the --dev Bedrock setup: the STS and Bedrock Runtime fakes.
type AWS struct {
	STS     *fake.STS
	Bedrock *fake.Bedrock
}

// startAWS starts the STS fake (trusting gh's JWTs, issuing credentials
// that live lifetime) and the Bedrock Runtime fake that accepts only
// signatures made with them, and returns the "bedrock" credential.
func startAWS(gh *fake.GitHub, lifetime time.Duration, allow config.Allow) (AWS, config.Credential) {
	sts := fake.NewSTS(fake.STSOptions{GitHub: gh, RoleARN: AWSRoleARN, Lifetime: lifetime})
	br := fake.NewBedrock(fake.BedrockOptions{STS: sts, Region: AWSRegion})
	cred := config.Credential{
		Name: "bedrock", Provider: "aws", Identity: "github", Audience: "sts.amazonaws.com",
		TokenURL: sts.URL(), RoleARN: AWSRoleARN, Region: AWSRegion, SessionName: "awf-broker",
		Duration: time.Hour, Hosts: []string{br.Host(), "bedrock-runtime." + AWSRegion + ".amazonaws.com"}, Target: br.URL(),
		LeaseTTL: 15 * time.Minute, Allow: allow,
	}
	return AWS{STS: sts, Bedrock: br}, cred
}

// Close stops the fakes.
func (a AWS) Close() {
	a.Bedrock.Close()
	a.STS.Close()
}
