credential "key" {
  provider  = "static"
  header    = "authorization"
  scheme    = "Basic"
  value_env = "KEY"
  hosts     = ["gw.example.com"]
  target    = "https://other.example.com/v1"
  api       = "openai"
}
credential "plain" {
  provider  = "static"
  header    = "x-api-key"
  value_env = "KEY"
  hosts     = ["gw.example.com"]
  target    = "http://gw.example.com?x=1"
}
