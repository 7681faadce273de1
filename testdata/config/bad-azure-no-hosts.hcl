identity "github" {
  type = "github-actions"
}
credential "az" {
  provider  = "azure"
  identity  = "github"
  tenant_id = "t"
  client_id = "c"
}
