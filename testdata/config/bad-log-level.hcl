log {
  level = "loud"
}
