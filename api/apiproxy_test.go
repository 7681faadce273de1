package api

import "testing"

// TestAPIProxyPort pins the gh-aw api-proxy's ports (10000-10004).
func TestAPIProxyPort(t *testing.T) {
	for name, want := range map[string]int{"openai": 10000, "anthropic": 10001, "copilot": 10002, "gemini": 10003, "vertex": 10004, "bedrock": 0, "": 0} {
		if got := APIProxyPort(name); got != want {
			t.Errorf("APIProxyPort(%q) = %d, want %d", name, got, want)
		}
	}
}
