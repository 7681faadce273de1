package devenv

import (
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// Made-up cloud ids of --dev; the fakes check them.
const (
	GCPProvider    = "projects/123456789/locations/global/workloadIdentityPools/awf-dev/providers/github"
	GCPAccount     = "awf-dev@awf-dev.iam.gserviceaccount.com"
	AzureTenant    = "00000000-0000-4000-8000-0000000000a1"
	AzureClient    = "00000000-0000-4000-8000-0000000000c1"
	AzureHost      = "awf-dev.openai.azure.com"
	OpenAIProvider = "idp_01DEVPROVIDER"
	OpenAIAccount  = "svcacct_01DEVACCOUNT"
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
		GCP:    fake.NewGCP(fake.GCPOptions{GitHub: gh, WorkloadIdentityProvider: GCPProvider, ServiceAccount: GCPAccount}),
		Azure:  fake.NewAzure(fake.AzureOptions{GitHub: gh, TenantID: AzureTenant, ClientID: AzureClient}),
		OpenAI: fake.NewOpenAI(fake.OpenAIOptions{GitHub: gh, IdentityProviderID: OpenAIProvider, ServiceAccountID: OpenAIAccount}),
	}
	f.Responses = fake.NewResponses(f.OpenAI.Valid)
	allow := config.Allow{UIDs: []uint32{uid}}
	const ttl = 15 * time.Minute
	return f, []config.Credential{
		{Name: "vertex", Provider: "gcp", Identity: "github", WorkloadIdentityProvider: GCPProvider,
			Audience: "https://iam.googleapis.com/" + GCPProvider, Scope: "https://www.googleapis.com/auth/cloud-platform",
			TokenURL: f.GCP.TokenURL(), ServiceAccount: GCPAccount, ImpersonationURL: f.GCP.ImpersonationURL(), Lifetime: time.Hour,
			Hosts: []string{"aiplatform.googleapis.com", "*-aiplatform.googleapis.com"}, Target: "https://aiplatform.googleapis.com", LeaseTTL: ttl, Allow: allow},
		{Name: "azure-openai", Provider: "azure", Identity: "github", TenantID: AzureTenant, ClientID: AzureClient, Cloud: "public",
			Audience: "api://AzureADTokenExchange", Scope: "https://cognitiveservices.azure.com/.default", TokenURL: f.Azure.TokenURL(),
			Hosts: []string{AzureHost}, Target: "https://" + AzureHost, LeaseTTL: ttl, Allow: allow},
		{Name: "openai", Provider: "openai", Identity: "github", IdentityProviderID: OpenAIProvider, ServiceAccountID: OpenAIAccount,
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
"azure-openai" (Entra; host ` + AzureHost + `) and "openai" (OpenAI workload
identity federation; host api.openai.com, and a fake Responses API at
%s, e.g. for codex). See the grants with  awf-broker-cli lease create vertex  and then
awf-broker-cli headers ID --secret-env VAR --url https://us-central1-aiplatform.googleapis.com/v1/x
`
