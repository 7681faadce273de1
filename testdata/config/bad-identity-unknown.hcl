identity "github" {
  type = "github-actions"
}
credential "anthropic" {
  provider           = "anthropic"
  identity           = "gitlab"
  federation_rule_id = "fdrl_1"
  organization_id    = "org_1"
}
