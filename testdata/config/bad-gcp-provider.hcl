identity "github" {
  type = "github-actions"
}
credential "vertex" {
  provider                   = "gcp"
  identity                   = "github"
  workload_identity_provider = "pool/gh"
}
