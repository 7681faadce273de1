identity "github" {
  type = "github-actions"
}
listener {
  port = 1
}
