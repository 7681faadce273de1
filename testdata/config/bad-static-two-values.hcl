credential "key" {
  provider   = "static"
  header     = "x-api-key"
  value_file = "/etc/key"
  value_env  = "KEY"
  hosts      = ["api.anthropic.com"]
}
