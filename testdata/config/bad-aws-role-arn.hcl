identity "github" {
  type = "github-actions"
}
credential "bedrock" {
  provider = "aws"
  identity = "github"
  role_arn = "arn:aws:iam::1234:user/agent"
  region   = "us-east-1"
}
