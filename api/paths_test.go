package api

import "testing"

func TestHasDotSegment(t *testing.T) {
	cases := []struct {
		name, path string
		want       bool
	}{
		{"plain", "/v1/messages", false},
		{"dots inside a name", "/v1/a..b/.well-known/x.", false},
		{"three dots", "/v1/.../x", false},
		{"a parameter on a name", "/v1/messages;x=1", false},
		{"an encoded dot in a name", "/model/x-v1%2E0/invoke", false},
		{"double-encoded colon (Bedrock)", "/model/x-v1%253A0/invoke", false},
		{"dot", "/v1/./messages", true},
		{"dot-dot", "/v1/../admin", true},
		{"trailing dot-dot", "/v1/..", true},
		{"dot-dot with a parameter", "/v1/..;/admin", true},
		{"dot-dot with a named parameter", "/v1/..;jsessionid=x/admin", true},
		{"dot with a parameter", "/v1/.;x/admin", true},
		{"encoded dot-dot", "/v1/%2e%2e/admin", true},
		{"encoded dot-dot, upper case", "/v1/%2E%2E/admin", true},
		{"half-encoded dot-dot", "/v1/.%2e/admin", true},
		{"double-encoded dot-dot", "/v1/%252e%252e/admin", true},
		{"double-encoded dot-dot with a parameter", "/v1/%252e%252e%253b/admin", true},
		{"encoded parameter", "/v1/..%3bx/admin", true},
		{"double-encoded slash before dot-dot", "/v1/a%252f..%252fadmin", true},
		{"encoded backslash before dot-dot", "/v1/a%5c..%5cadmin", true},
		{"an invalid escape does not hide it", "/v1/%zz/%2e%2e/admin", true},
		{"a truncated escape at the end", "/v1/%2", false},
		{"triple-encoded dot-dot is a name", "/v1/%25252e%25252e/admin", false},
	}
	for _, c := range cases {
		if got := HasDotSegment(c.path); got != c.want {
			t.Errorf("%s: HasDotSegment(%q) = %v, want %v", c.name, c.path, got, c.want)
		}
	}
}
