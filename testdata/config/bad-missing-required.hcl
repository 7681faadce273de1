identity "github" {
  type = "github-actions"
}
credential "anthropic" {
  provider           = "anthropic"
  identity           = "github"
  federation_rule_id = "fdrl_1"
}
