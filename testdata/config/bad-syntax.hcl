identity "github" {
  type = "github-actions"
}
credential "anthropic" {
  provider = "anthropic"

