credential "key" {
  provider  = "static"
  header    = "authorization"
  scheme    = "Basic"
  value_env = "KEY"
  hosts     = ["gw.example.com"]
  target    = "ftp://gw.example.com"
}
