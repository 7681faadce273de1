package lease

import (
	"errors"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func TestNormalizeURL(t *testing.T) {
	cases := map[string]string{
		"https://api.anthropic.com/v1/messages":         "",
		"https://API.Anthropic.com:443/v1/messages?x=1": "",
		"http://127.0.0.1:8080/v1/messages":             "",
		"http://[::1]/v1":                               "",
		"http://localhost/v1":                           "",
		"http://api.anthropic.com/v1/messages":          api.CodeInsecureURL,
		"ftp://api.anthropic.com/x":                     api.CodeInsecureURL,
		"https://user:pw@api.anthropic.com/v1":          api.CodeBadRequest,
		"https://api.anthropic.com/v1/../admin":         api.CodeBadRequest,
		"https://api.anthropic.com/v1/%2e%2e/admin":     api.CodeBadRequest,
		"https://api.anthropic.com/v1%2fadmin":          api.CodeBadRequest,
		"https://api.anthropic.com/v1%5cadmin":          api.CodeBadRequest,
		"https://api.anthropic.com/v1#frag":             api.CodeBadRequest,
		"/v1/messages":                                  api.CodeBadRequest,
		"https://[::1":                                  api.CodeBadRequest,
	}
	for raw, want := range cases {
		u, err := NormalizeURL(raw)
		if got := code(err); got != want {
			t.Errorf("NormalizeURL(%q) = %v (%s), want %q", raw, err, got, want)
		}
		if err == nil && u.Host != "api.anthropic.com:443" && raw == "https://API.Anthropic.com:443/v1/messages?x=1" {
			t.Errorf("host not lower-cased: %s", u.Host)
		}
	}
}

func TestMatchHost(t *testing.T) {
	cases := []struct {
		pattern, host string
		want          bool
	}{
		{"api.anthropic.com", "api.anthropic.com", true},
		{"api.anthropic.com", "api.anthropic.com:443", true},
		{"api.anthropic.com", "API.anthropic.com", true},
		{"api.anthropic.com", "evil.com", false},
		{"api.anthropic.com", "api.anthropic.com.evil.com", false},
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:9090", false},
		{"127.0.0.1:8080", "127.0.0.1", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com:8443", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "aexample.com", false},
	}
	for _, c := range cases {
		if got := MatchHost(c.pattern, c.host); got != c.want {
			t.Errorf("MatchHost(%q, %q) = %v", c.pattern, c.host, got)
		}
	}
}

func TestSubset(t *testing.T) {
	ceiling := []string{"api.anthropic.com", "*.openai.azure.com", "127.0.0.1:8080"}
	cases := []struct {
		req  []string
		want string
	}{
		{[]string{"api.anthropic.com"}, ""},
		{[]string{"x.openai.azure.com", "*.res.openai.azure.com", "*.openai.azure.com"}, ""},
		{[]string{"127.0.0.1:8080"}, ""},
		{[]string{"127.0.0.1:9090"}, api.CodeScopeViolation},
		{[]string{"*.azure.com"}, api.CodeScopeViolation},
		{[]string{"evil.com"}, api.CodeScopeViolation},
		{[]string{"*.anthropic.com"}, api.CodeScopeViolation},
	}
	for _, c := range cases {
		if got := code(Subset(c.req, ceiling)); got != c.want {
			t.Errorf("Subset(%v) = %q, want %q", c.req, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	l := &Lease{Scope: api.Scope{Hosts: []string{"api.anthropic.com"}, Methods: []string{"POST"}, PathPrefixes: []string{"/v1/messages"}}}
	cases := []struct {
		method, url, want string
	}{
		{"POST", "https://api.anthropic.com/v1/messages", ""},
		{"POST", "https://api.anthropic.com/v1/messages/batches", ""},
		{"POST", "https://api.anthropic.com/v1/messagesX", api.CodeScopeViolation},
		{"GET", "https://api.anthropic.com/v1/messages", api.CodeScopeViolation},
		{"POST", "https://other.com/v1/messages", api.CodeScopeViolation},
	}
	for _, c := range cases {
		u, err := NormalizeURL(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := code(l.Check(c.method, u)); got != c.want {
			t.Errorf("Check(%s %s) = %q, want %q", c.method, c.url, got, c.want)
		}
	}
}
