credential "key" {
  provider  = "static"
  header    = "x-api-key"
  value_env = "KEY"
  hosts     = ["gw.example.com", "*.gw.example.com"]
  target    = "https://other.example.com/v1"
}
