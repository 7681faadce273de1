package forward

import (
	"net/http"
	"net/url"
	"testing"
)

func TestMapTarget(t *testing.T) {
	for _, tc := range []struct {
		base, target string
		wantAbs      string
		wantErr      string
		dedupe       bool
		drop         []string
	}{
		{"https://api.anthropic.com", "/v1/messages", "https://api.anthropic.com/v1/messages", "", false, nil},
		{"https://api.anthropic.com/", "/v1/messages?beta=true", "https://api.anthropic.com/v1/messages?beta=true", "", false, nil},
		{"https://h.example/base/", "/v1/x", "https://h.example/base/v1/x", "", false, nil},
		{"https://h.example/base?api-version=2024", "/v1/x?a=1", "https://h.example/base/v1/x?api-version=2024&a=1", "", false, nil},
		{"https://h.example/base?api-version=2024", "/v1/x", "https://h.example/base/v1/x?api-version=2024", "", false, nil},
		{"https://h.example/a%20b", "/c%3Ad", "https://h.example/a%20b/c%3Ad", "", false, nil},
		{"https://h.example", "/", "https://h.example/", "", false, nil},
		{"https://h.example", "https://h.example/v1/x", "https://h.example/v1/x", "", false, nil},
		{"https://h.example", "https://H.EXAMPLE:443/v1/x", "https://h.example/v1/x", "", false, nil},
		{"https://h.example", "http://h.example/v1/x", "https://h.example/v1/x", "", false, nil},
		{"https://h.example", "https://other.example/v1/x", "", "absolute-form request target names another host; send origin-form paths", false, nil},
		{"https://h.example", "https://h.example:8443/v1/x", "", "absolute-form request target names another host; send origin-form paths", false, nil},
		{"https://h.example", "/a/./b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/..", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/%2E%2E/b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/%2Fb", "", "request path must not contain an encoded slash (%2F or %5C)", false, nil},
		{"https://h.example", "/a/%5cb", "", "request path must not contain an encoded slash (%2F or %5C)", false, nil},
		{"https://h.example", "/a/%00b", "", "request path must not contain control characters or backslashes", false, nil},
		{"https://h.example", "/a..b/..c", "https://h.example/a..b/..c", "", false, nil},
		{"https://h.example", "*", "", "request target must be an absolute path", false, nil},
		{"https://h.example", "/a/..;/b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/..;jsessionid=x/b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/%252e%252e/b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/%252E%252E%253B/b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/%2e%2e%3b/b", "", "request path must not contain . or .. segments", false, nil},
		{"https://h.example", "/a/x;..;/b", "https://h.example/a/x;..;/b", "", false, nil},
		{"https://h.example", "/model/x-v1%253A0/invoke", "https://h.example/model/x-v1%253A0/invoke", "", false, nil},
		// The api-proxy's rule in sidecar mode: a path already under the base is not prefixed again.
		{"https://api.openai.com/v1", "/v1/chat/completions", "https://api.openai.com/v1/chat/completions", "", true, nil},
		{"https://api.openai.com/v1", "/responses", "https://api.openai.com/v1/responses", "", true, nil},
		{"https://api.openai.com/v1", "/v1", "https://api.openai.com/v1", "", true, nil},
		{"https://api.openai.com/v1", "/v10/x", "https://api.openai.com/v1/v10/x", "", true, nil},
		{"https://api.openai.com/v1", "/v1/chat/completions", "https://api.openai.com/v1/v1/chat/completions", "", false, nil},
		// The sidecar drops the key parameters Gemini clients may put in the URL.
		{"https://g.example", "/v1beta/models/m:generateContent?key=placeholder&alt=sse", "https://g.example/v1beta/models/m:generateContent?alt=sse", "", false, geminiKeyParams},
		{"https://g.example?v=1", "/x?alt=sse&api%5Fkey=p&apiKey=p&keys=kept", "https://g.example/x?v=1&alt=sse&keys=kept", "", false, geminiKeyParams},
		{"https://g.example", "/x?key=p", "https://g.example/x", "", false, geminiKeyParams},
	} {
		t.Run(tc.target, func(t *testing.T) {
			bu, _ := url.Parse(tc.base)
			up := newUpstream(bu, tc.dedupe, tc.drop)
			r, err := http.ReadRequest(bufioString("GET " + tc.target + " HTTP/1.1\r\nHost: evil.example\r\n\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := up.mapTarget(r)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.abs != tc.wantAbs || got.url.String() != tc.wantAbs {
				t.Errorf("abs %q url %q, want %q", got.abs, got.url.String(), tc.wantAbs)
			}
		})
	}
}
