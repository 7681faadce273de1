identity "github" {
  type = "github-actions"
}
credential "anthropic" {
  provider           = "anthropic"
  identity           = "github"
  federation_rule_id = "fdrl_01EXAMPLE"
  organization_id    = "00000000-0000-4000-8000-000000000001"
  token_url          = "http://127.0.0.1:8080/v1/oauth/token"
}
