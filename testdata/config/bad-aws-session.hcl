identity "github" {
  type = "github-actions"
}
credential "bedrock" {
  provider     = "aws"
  identity     = "github"
  role_arn     = "arn:aws:iam::123456789012:role/agent"
  region       = "us-east-1"
  session_name = "job 42!"
  duration     = "5m"
}
