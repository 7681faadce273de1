log {
  format = "xml"
}
credential "a" {
  provider = "anthropic"
  identity = "nobody"
}
credential "b" {
  provider = "mystery"
}
