# Every provider, as in DESIGN §3. The ids are made up.
wait_for_token = "5s"

socket {
  path  = "/run/awf-broker/broker.sock"
  mode  = "0660"
  group = "awf"
}
log {
  level  = "debug"
  format = "text"
}
admin {
  uids = [0, 1000]
  gids = [50]
}
metrics {
  listen = "127.0.0.1:9464"
}

identity "github" {
  type                  = "github-actions"
  allowed_request_hosts = ["*.actions.githubusercontent.com"]
  allow {
    uids = [1001]
  }
}
identity "projected" {
  type = "file"
  path = "/var/run/secrets/tokens/anthropic"
}

credential "anthropic" {
  provider           = "anthropic"
  identity           = "github"
  federation_rule_id = "fdrl_01EXAMPLE"
  organization_id    = "00000000-0000-4000-8000-000000000001"
  service_account_id = "svac_01EXAMPLE"
  workspace_id       = "wrkspc_01EXAMPLE"
  lease_ttl          = "30m"
  allow {
    uids = [1001]
    gids = []
  }
}
credential "bedrock" {
  provider = "aws"
  identity = "github"
  role_arn = "arn:aws:iam::123456789012:role/agent"
  region   = "us-east-1"
}
credential "vertex" {
  provider                   = "gcp"
  identity                   = "github"
  workload_identity_provider = "projects/123/locations/global/workloadIdentityPools/pool/providers/gh"
  service_account            = "sa@proj.iam.gserviceaccount.com"
}
credential "azure-openai" {
  provider  = "azure"
  identity  = "github"
  tenant_id = "tenant-1"
  client_id = "client-1"
  cloud     = "usgovernment"
  hosts     = ["myres.openai.azure.us"]
}
credential "openai" {
  provider             = "openai"
  identity             = "projected"
  identity_provider_id = "idp_01EXAMPLE"
  service_account_id   = "svcacct_01EXAMPLE"
}
credential "anthropic-key" {
  provider   = "static"
  header     = "x-api-key"
  value_file = "/etc/awf-broker/anthropic.key"
  hosts      = ["api.anthropic.com"]
}
