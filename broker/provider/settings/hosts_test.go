package settings

import "testing"

func TestMatchHost(t *testing.T) {
	cases := []struct {
		pattern, host string
		want          bool
	}{
		{"api.anthropic.com", "api.anthropic.com", true},
		{"api.anthropic.com", "api.anthropic.com:443", true},
		{"api.anthropic.com", "api.anthropic.com:8443", true},
		{"api.anthropic.com", "API.Anthropic.COM", true},
		{"API.anthropic.com", "api.anthropic.com", true},
		{"api.anthropic.com", "evil.com", false},
		{"api.anthropic.com", "api.anthropic.com.evil.com", false},
		{"api.anthropic.com", "xapi.anthropic.com", false},
		{"api.anthropic.com:443", "api.anthropic.com:443", true},
		{"api.anthropic.com:443", "api.anthropic.com:8443", false},
		{"api.anthropic.com:443", "api.anthropic.com", false},
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:9090", false},
		{"127.0.0.1", "127.0.0.1:9090", true},
		{"[::1]:8080", "[::1]:8080", true},
		{"[::1]:8080", "[::1]:8081", false},
		{"::1", "[::1]:8080", true},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "A.EXAMPLE.com", true},
		{"*.example.com", "a.b.example.com:8443", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", "a.example.com.evil.com", false},
		{"*.example.com:443", "a.example.com:443", true},
		{"*.example.com:443", "a.example.com:80", false},
		{"*-aiplatform.googleapis.com", "us-central1-aiplatform.googleapis.com", true},
		{"*-aiplatform.googleapis.com", "EUROPE-west4-AIPLATFORM.googleapis.com:443", true},
		{"*-aiplatform.googleapis.com", "x-aiplatform.googleapis.com", true},
		{"*-aiplatform.googleapis.com", "aiplatform.googleapis.com", false},
		{"*-aiplatform.googleapis.com", "-aiplatform.googleapis.com", false},
		{"*-aiplatform.googleapis.com", "usaiplatform.googleapis.com", false},
		{"*-aiplatform.googleapis.com", "evil.us-aiplatform.googleapis.com", false},
		{"*-aiplatform.googleapis.com", "a.b-aiplatform.googleapis.com", false},
		{"*-aiplatform.googleapis.com", "us-aiplatform.googleapis.com.evil.com", false},
		{"*-aiplatform.googleapis.com", "us-central1-aiplatform.googleapis.co", false},
		{"*-aiplatform.googleapis.com", "storage.googleapis.com", false},
		{"*-aiplatform.googleapis.com:443", "us-aiplatform.googleapis.com:8443", false},
	}
	for _, c := range cases {
		if got := MatchHost(c.pattern, c.host); got != c.want {
			t.Errorf("MatchHost(%q, %q) = %v, want %v", c.pattern, c.host, got, c.want)
		}
	}
}
