package daemon

import (
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// Made-up cloud ids of --dev; the fakes check them.
const (
	devGCPProvider    = "projects/123456789/locations/global/workloadIdentityPools/awf-dev/providers/github"
	devGCPAccount     = "awf-dev@awf-dev.iam.gserviceaccount.com"
	devAzureTenant    = "00000000-0000-4000-8000-0000000000a1"
	devAzureClient    = "00000000-0000-4000-8000-0000000000c1"
	devAzureHost      = "awf-dev.openai.azure.com"
	devOpenAIProvider = "idp_01DEVPROVIDER"
	devOpenAIAccount  = "svcacct_01DEVACCOUNT"
)

// CloudFakes are the --dev fakes of the GCP, Entra and OpenAI token
// endpoints, and of OpenAI's Responses API.
type CloudFakes struct {
	GCP    *fake.GCP
	Azure  *fake.Azure
	OpenAI *fake.OpenAI
	// Responses accepts only bearers OpenAI minted.
	Responses *fake.Responses
}

// startCloudFakes starts the cloud fakes trusting gh and returns one
// credential per provider against them, leasable by uid: "vertex" (gcp,
// impersonating a service account), "azure-openai" (azure, public cloud)
// and "openai".
func startCloudFakes(gh *fake.GitHub, uid uint32) (*CloudFakes, []config.Credential) {
	f := &CloudFakes{
		GCP:    fake.NewGCP(fake.GCPOptions{GitHub: gh, WorkloadIdentityProvider: devGCPProvider, ServiceAccount: devGCPAccount}),
		Azure:  fake.NewAzure(fake.AzureOptions{GitHub: gh, TenantID: devAzureTenant, ClientID: devAzureClient}),
		OpenAI: fake.NewOpenAI(fake.OpenAIOptions{GitHub: gh, IdentityProviderID: devOpenAIProvider, ServiceAccountID: devOpenAIAccount}),
	}
	f.Responses = fake.NewResponses(f.OpenAI.Valid)
	allow := config.Allow{UIDs: []uint32{uid}}
	const ttl = 15 * time.Minute
	return f, []config.Credential{
		{Name: "vertex", Provider: "gcp", Identity: "github", WorkloadIdentityProvider: devGCPProvider,
			Audience: "https://iam.googleapis.com/" + devGCPProvider, Scope: "https://www.googleapis.com/auth/cloud-platform",
			TokenURL: f.GCP.TokenURL(), ServiceAccount: devGCPAccount, ImpersonationURL: f.GCP.ImpersonationURL(), Lifetime: time.Hour,
			Hosts: []string{"aiplatform.googleapis.com", "*-aiplatform.googleapis.com"}, Target: "https://aiplatform.googleapis.com", LeaseTTL: ttl, Allow: allow},
		{Name: "azure-openai", Provider: "azure", Identity: "github", TenantID: devAzureTenant, ClientID: devAzureClient, Cloud: "public",
			Audience: "api://AzureADTokenExchange", Scope: "https://cognitiveservices.azure.com/.default", TokenURL: f.Azure.TokenURL(),
			Hosts: []string{devAzureHost}, Target: "https://" + devAzureHost, LeaseTTL: ttl, Allow: allow},
		{Name: "openai", Provider: "openai", Identity: "github", IdentityProviderID: devOpenAIProvider, ServiceAccountID: devOpenAIAccount,
			Audience: "https://api.openai.com/v1", TokenURL: f.OpenAI.TokenURL(), Hosts: []string{f.Responses.Host(), "api.openai.com"},
			Target: f.Responses.URL() + "/v1", LeaseTTL: ttl, Allow: allow},
	}
}

// Close stops the cloud fakes.
func (f *CloudFakes) Close() {
	f.Responses.Close()
	f.GCP.Close()
	f.Azure.Close()
	f.OpenAI.Close()
}

// devCloudBanner is the --dev banner's paragraph on the cloud credentials;
// %s is the Responses fake's URL.
const devCloudBanner = `Also leasable, against fakes of their token endpoints: "vertex" (GCP STS +
IAM Credentials impersonation; hosts aiplatform.googleapis.com, *-aiplatform…),
"azure-openai" (Entra; host ` + devAzureHost + `) and "openai" (OpenAI workload
identity federation; host api.openai.com, and a fake Responses API at
%s, e.g. for codex). See the grants with  awf-broker-cli lease create vertex  and then
awf-broker-cli headers ID --secret-env VAR --url https://us-central1-aiplatform.googleapis.com/v1/x
`
