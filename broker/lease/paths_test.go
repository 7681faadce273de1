package lease

import (
	"errors"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

// TestNormalizeURLDotSegments: a path segment that is '.' or '..' as it
// is, decoded once or twice, or before a ';' parameter, is refused with
// 400 bad_request and a message naming the rule; look-alikes are not.
func TestNormalizeURLDotSegments(t *testing.T) {
	const msg = "url path must not contain '.' or '..' segments, decoded once or twice, with or without ';' parameters"
	cases := []struct {
		name, raw, wantPath string
		refused             bool
	}{
		{"dot-dot", "https://api.anthropic.com/v1/../admin", "", true},
		{"dot-dot with an empty parameter", "https://api.anthropic.com/v1/..;/admin", "", true},
		{"dot-dot with a parameter", "https://api.anthropic.com/v1/..;jsessionid=1/admin", "", true},
		{"dot with a parameter", "https://api.anthropic.com/v1/.;x/messages", "", true},
		{"encoded dot-dot", "https://api.anthropic.com/v1/%2e%2e/admin", "", true},
		{"double-encoded dot-dot", "https://api.anthropic.com/v1/%252e%252e/admin", "", true},
		{"double-encoded dot-dot, upper case", "https://api.anthropic.com/v1/%252E%252E/admin", "", true},
		{"encoded dot-dot and encoded parameter", "https://api.anthropic.com/v1/%2e%2e%3bx/admin", "", true},
		{"double-encoded slash around dot-dot", "https://api.anthropic.com/v1/a%252f..%252fadmin", "", true},
		{"trailing double-encoded dot", "https://api.anthropic.com/v1/%252e", "", true},
		{"a parameter on a name", "https://api.anthropic.com/v1/messages;x=1", "/v1/messages;x=1", false},
		{"dots within a name", "https://api.anthropic.com/v1/a..b;..c", "/v1/a..b;..c", false},
		{"double-encoded colon of a Bedrock model", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x-v1%253A0/invoke",
			"/model/x-v1%3A0/invoke", false},
	}
	for _, c := range cases {
		u, err := NormalizeURL(c.raw)
		switch {
		case c.refused:
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != api.CodeBadRequest || e.Msg != msg {
				t.Errorf("%s: NormalizeURL(%q) = %v, want 400 %s %q", c.name, c.raw, err, api.CodeBadRequest, msg)
			}
		case err != nil:
			t.Errorf("%s: NormalizeURL(%q) refused: %v", c.name, c.raw, err)
		case u.Path != c.wantPath:
			t.Errorf("%s: NormalizeURL(%q) path %q, want %q", c.name, c.raw, u.Path, c.wantPath)
		}
	}
}
