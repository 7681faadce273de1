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
	}{
		{"https://api.anthropic.com", "/v1/messages", "https://api.anthropic.com/v1/messages", ""},
		{"https://api.anthropic.com/", "/v1/messages?beta=true", "https://api.anthropic.com/v1/messages?beta=true", ""},
		{"https://h.example/base/", "/v1/x", "https://h.example/base/v1/x", ""},
		{"https://h.example/base?api-version=2024", "/v1/x?a=1", "https://h.example/base/v1/x?api-version=2024&a=1", ""},
		{"https://h.example/base?api-version=2024", "/v1/x", "https://h.example/base/v1/x?api-version=2024", ""},
		{"https://h.example/a%20b", "/c%3Ad", "https://h.example/a%20b/c%3Ad", ""},
		{"https://h.example", "/", "https://h.example/", ""},
		{"https://h.example", "https://h.example/v1/x", "https://h.example/v1/x", ""},
		{"https://h.example", "https://H.EXAMPLE:443/v1/x", "https://h.example/v1/x", ""},
		{"https://h.example", "http://h.example/v1/x", "https://h.example/v1/x", ""},
		{"https://h.example", "https://other.example/v1/x", "", "absolute-form request target names another host; send origin-form paths"},
		{"https://h.example", "https://h.example:8443/v1/x", "", "absolute-form request target names another host; send origin-form paths"},
		{"https://h.example", "/a/./b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/..", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/%2E%2E/b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/..;/b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/..;jsessionid=x/b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/%252e%252e/b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/%252E%252E%253B/b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/%2e%2e%3b/b", "", "request path must not contain . or .. segments"},
		{"https://h.example", "/a/x;..;/b", "https://h.example/a/x;..;/b", ""},
		{"https://h.example", "/model/x-v1%253A0/invoke", "https://h.example/model/x-v1%253A0/invoke", ""},
		{"https://h.example", "/a/%2Fb", "", "request path must not contain an encoded slash (%2F or %5C)"},
		{"https://h.example", "/a/%5cb", "", "request path must not contain an encoded slash (%2F or %5C)"},
		{"https://h.example", "/a/%00b", "", "request path must not contain control characters or backslashes"},
		{"https://h.example", "/a..b/..c", "https://h.example/a..b/..c", ""},
		{"https://h.example", "*", "", "request target must be an absolute path"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			bu, _ := url.Parse(tc.base)
			up := newUpstream(bu)
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
