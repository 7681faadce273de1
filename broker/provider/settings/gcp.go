package settings

import "time"

// GCP defaults and limits (protocols.md §4).
const (
	GCPDefaultTokenURL         = "https://sts.googleapis.com/v1/token"
	GCPDefaultImpersonationURL = "https://iamcredentials.googleapis.com"
	// GCPDefaultScope is the scope Vertex AI needs.
	GCPDefaultScope = "https://www.googleapis.com/auth/cloud-platform"
	// GCPDefaultLifetime and GCPMaxLifetime bound an impersonated token's
	// lifetime; above 3600 s needs the org policy
	// constraints/iam.allowServiceAccountCredentialLifetimeExtension.
	GCPDefaultLifetime = time.Hour
	GCPMaxLifetime     = 12 * time.Hour
)

// GCP is the gcp provider's settings: a token exchange at Google's STS,
// optionally followed by a service account's impersonation.
type GCP struct {
	// WorkloadIdentityProvider is projects/N/locations/global/workloadIdentityPools/P/providers/X.
	WorkloadIdentityProvider string
	// ServiceAccount, when set, is impersonated.
	ServiceAccount string
	// Audience is the JWT's audience (default
	// https://iam.googleapis.com/<WorkloadIdentityProvider>).
	Audience string
	// Scope is space-separated (default GCPDefaultScope).
	Scope string
	// TokenURL is the STS URL.
	TokenURL string
	// ImpersonationURL is the IAM Credentials base without /v1.
	ImpersonationURL string
	// Lifetime is the impersonated token's lifetime (default 1h with a
	// service account; nothing without one).
	Lifetime time.Duration
}

// GCPAudience is the JWT audience of a workload identity provider.
func GCPAudience(wip string) string { return "https://iam.googleapis.com/" + wip }

// GCPSTSAudience is the audience STS is told (DESIGN §4: "//iam…").
func GCPSTSAudience(wip string) string { return "//iam.googleapis.com/" + wip }

// WithDefaults returns s with its defaults applied.
func (s GCP) WithDefaults() GCP {
	if s.WorkloadIdentityProvider != "" {
		setDefault(&s.Audience, GCPAudience(s.WorkloadIdentityProvider))
	}
	setDefault(&s.Scope, GCPDefaultScope)
	setDefault(&s.TokenURL, GCPDefaultTokenURL)
	setDefault(&s.ImpersonationURL, GCPDefaultImpersonationURL)
	if s.ServiceAccount != "" && s.Lifetime == 0 {
		s.Lifetime = GCPDefaultLifetime
	}
	return s
}

// Check reports every problem with s.
func (s GCP) Check() error {
	c := checker{provider: "gcp"}
	if w := s.WorkloadIdentityProvider; c.required("workload_identity_provider", w) && !ValidWorkloadIdentityProvider(w) {
		c.add("workload_identity_provider", "invalid provider %q (want projects/N/locations/global/workloadIdentityPools/P/providers/X)", w)
	}
	if a := s.ServiceAccount; a != "" && !gcpAccountRE.MatchString(a) {
		c.add("service_account", "%q is not a service account e-mail", a)
	}
	switch l := s.Lifetime; {
	case l == 0:
	case s.ServiceAccount == "":
		c.add("lifetime", "applies only with service_account (impersonation)")
	case l < time.Second || l > GCPMaxLifetime || l%time.Second != 0:
		c.add("lifetime", "must be whole seconds from 1s to 12h (got %s)", l)
	}
	c.endpoint("token_url", s.TokenURL)
	c.endpoint("impersonation_url", s.ImpersonationURL)
	return c.err()
}

// DefaultHosts are Vertex AI's global and regional hosts.
func (GCP) DefaultHosts() []string {
	return []string{"aiplatform.googleapis.com", "*-aiplatform.googleapis.com"}
}

// NeedsIdentity reports true.
func (GCP) NeedsIdentity() bool { return true }
