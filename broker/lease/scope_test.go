package lease

import (
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

func TestNormalizeURL(t *testing.T) {
	cases := []struct {
		raw, code, host, path string
	}{
		{"https://api.anthropic.com/v1/messages", "", "api.anthropic.com", "/v1/messages"},
		{"https://API.Anthropic.com:443/v1/messages?beta=true", "", "api.anthropic.com:443", "/v1/messages"},
		{"https://api.anthropic.com", "", "api.anthropic.com", "/"},
		{"https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3%3A0/invoke", "", "bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-3:0/invoke"},
		{"http://127.0.0.1:8080/v1/messages", "", "127.0.0.1:8080", "/v1/messages"},
		{"http://127.1.2.3/v1", "", "127.1.2.3", "/v1"},
		{"http://[::1]:9/v1", "", "[::1]:9", "/v1"},
		{"http://localhost/v1", "", "localhost", "/v1"},
		{"http://LocalHost:1/v1", "", "localhost:1", "/v1"},
		{"http://api.anthropic.com/v1/messages", api.CodeInsecureURL, "", ""},
		{"http://10.0.0.1/v1", api.CodeInsecureURL, "", ""},
		{"http://localhost.evil.com/v1", api.CodeInsecureURL, "", ""},
		{"http://127.0.0.1.nip.io/v1", api.CodeInsecureURL, "", ""},
		{"ftp://api.anthropic.com/x", api.CodeInsecureURL, "", ""},
		{"wss://api.anthropic.com/x", api.CodeInsecureURL, "", ""},
		{"https://user:pw@api.anthropic.com/v1", api.CodeBadRequest, "", ""},
		{"https://user@api.anthropic.com/v1", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1/../admin", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1/./messages", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1/%2e%2e/admin", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1%2fadmin", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1%2Fadmin", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1%5cadmin", api.CodeBadRequest, "", ""},
		{`https://api.anthropic.com/v1\admin`, api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1#frag", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1#", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1 x", api.CodeBadRequest, "", ""},
		{"https://api.anthropic.com/v1\x00", api.CodeBadRequest, "", ""},
		{"https://:443/v1", api.CodeBadRequest, "", ""},
		{"/v1/messages", api.CodeBadRequest, "", ""},
		{"api.anthropic.com/v1", api.CodeBadRequest, "", ""},
		{"mailto:a@b.c", api.CodeBadRequest, "", ""},
		{"https://[::1", api.CodeBadRequest, "", ""},
		{"", api.CodeBadRequest, "", ""},
	}
	for _, c := range cases {
		u, err := NormalizeURL(c.raw)
		if got := CodeOf(err); got != c.code || (err != nil && c.code == "") {
			t.Errorf("NormalizeURL(%q) = %v (code %q), want code %q", c.raw, err, got, c.code)
			continue
		}
		if err == nil && (u.Host != c.host || u.Path != c.path) {
			t.Errorf("NormalizeURL(%q) = host %q path %q, want %q %q", c.raw, u.Host, u.Path, c.host, c.path)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("NormalizeURL(%q) error repeats the userinfo: %v", c.raw, err)
		}
	}
}

func TestSubset(t *testing.T) {
	ceiling := []string{"api.anthropic.com", "*.openai.azure.com", "127.0.0.1:8080"}
	cases := []struct {
		req  []string
		code string
		msg  string
	}{
		{[]string{"api.anthropic.com"}, "", ""},
		{[]string{"API.anthropic.com"}, "", ""},
		{[]string{"api.anthropic.com:8443"}, "", ""},
		{[]string{"x.openai.azure.com", "*.res.openai.azure.com", "*.openai.azure.com"}, "", ""},
		{[]string{"127.0.0.1:8080"}, "", ""},
		{[]string{"127.0.0.1:9090"}, api.CodeScopeViolation, `host "127.0.0.1:9090" is outside the credential's hosts`},
		{[]string{"127.0.0.1"}, api.CodeScopeViolation, `host "127.0.0.1" is outside the credential's hosts`},
		{[]string{"*.azure.com"}, api.CodeScopeViolation, `host "*.azure.com" is outside the credential's hosts`},
		{[]string{"openai.azure.com"}, api.CodeScopeViolation, `host "openai.azure.com" is outside the credential's hosts`},
		{[]string{"api.anthropic.com", "evil.com"}, api.CodeScopeViolation, `host "evil.com" is outside the credential's hosts`},
		{[]string{"*.anthropic.com"}, api.CodeScopeViolation, `host "*.anthropic.com" is outside the credential's hosts`},
		{[]string{""}, api.CodeBadRequest, `host "": invalid host name`},
		{[]string{"a b.com"}, api.CodeBadRequest, `host "a b.com": invalid character in host name`},
		{[]string{"a..com"}, api.CodeBadRequest, `host "a..com": empty or overlong label`},
		{[]string{"api.anthropic.com:0"}, api.CodeBadRequest, `host "api.anthropic.com:0": invalid port`},
		{[]string{"api.anthropic.com:"}, api.CodeBadRequest, `host "api.anthropic.com:": invalid port`},
		{[]string{"api.anthropic.com:99999"}, api.CodeBadRequest, `host "api.anthropic.com:99999": invalid port`},
		{[]string{"api.anthropic.com/v1"}, api.CodeBadRequest, `host "api.anthropic.com/v1": invalid character in host name`},
	}
	for _, c := range cases {
		err := Subset(c.req, ceiling)
		if got := CodeOf(err); got != c.code {
			t.Errorf("Subset(%q) = %v, want code %q", c.req, err, c.code)
			continue
		}
		if err != nil && err.Error() != c.msg {
			t.Errorf("Subset(%q) message = %q, want %q", c.req, err.Error(), c.msg)
		}
	}
}

func TestSubsetLabelPrefixWildcard(t *testing.T) {
	ceiling := []string{"aiplatform.googleapis.com", "*-aiplatform.googleapis.com", "*.example.com"}
	cases := []struct {
		req  []string
		code string
	}{
		{[]string{"us-central1-aiplatform.googleapis.com", "aiplatform.googleapis.com"}, ""},
		{[]string{"*-aiplatform.googleapis.com"}, ""},
		{[]string{"*-central1-aiplatform.googleapis.com"}, ""},
		{[]string{"*-x.example.com", "*-y.a.example.com"}, ""},
		{[]string{"*-example.com"}, api.CodeScopeViolation},
		{[]string{"*.aiplatform.googleapis.com"}, api.CodeScopeViolation},
		{[]string{"a.us-aiplatform.googleapis.com"}, api.CodeScopeViolation},
		{[]string{"*-googleapis.com"}, api.CodeScopeViolation},
		{[]string{"*-platform.googleapis.com"}, api.CodeScopeViolation},
		{[]string{"storage.googleapis.com"}, api.CodeScopeViolation},
		{[]string{"*-a b.com"}, api.CodeBadRequest},
		{[]string{"*-"}, api.CodeBadRequest},
	}
	for _, c := range cases {
		if got := CodeOf(Subset(c.req, ceiling)); got != c.code {
			t.Errorf("Subset(%q) code %q, want %q", c.req, got, c.code)
		}
	}
	// A wildcard request never widens: "*.x" is not covered by "*-x".
	if err := Subset([]string{"*.aiplatform.googleapis.com"}, []string{"*-aiplatform.googleapis.com"}); CodeOf(err) != api.CodeScopeViolation {
		t.Errorf("*. under *-: %v", err)
	}
}

func TestCheck(t *testing.T) {
	scoped := &Lease{Scope: api.Scope{Hosts: []string{"api.anthropic.com"}, Methods: []string{"POST"}, PathPrefixes: []string{"/v1/messages", "/v1/models/"}}}
	ported := &Lease{Scope: api.Scope{Hosts: []string{"api.anthropic.com:443", "127.0.0.1:8080", "*.example.com"}}}
	cases := []struct {
		l            *Lease
		method, url  string
		code, detail string
	}{
		{scoped, "POST", "https://api.anthropic.com/v1/messages", "", ""},
		{scoped, "POST", "https://api.anthropic.com:8443/v1/messages?x=1", "", ""},
		{scoped, "POST", "https://api.anthropic.com/v1/messages/batches", "", ""},
		{scoped, "POST", "https://api.anthropic.com/v1/models", "", ""},
		{scoped, "POST", "https://api.anthropic.com/v1/models/claude", "", ""},
		{scoped, "POST", "https://api.anthropic.com/v1/messagesX", api.CodeScopeViolation, `path "/v1/messagesX" is outside the lease's scope`},
		{scoped, "POST", "https://api.anthropic.com/v1", api.CodeScopeViolation, `path "/v1" is outside the lease's scope`},
		{scoped, "POST", "https://api.anthropic.com/", api.CodeScopeViolation, `path "/" is outside the lease's scope`},
		{scoped, "GET", "https://api.anthropic.com/v1/messages", api.CodeScopeViolation, "method GET is outside the lease's scope"},
		{scoped, "POST", "https://other.com/v1/messages", api.CodeScopeViolation, `host "other.com" is outside the lease's scope`},
		{scoped, "POST", "https://api.anthropic.com.evil.com/v1/messages", api.CodeScopeViolation, `host "api.anthropic.com.evil.com" is outside the lease's scope`},
		{ported, "GET", "https://api.anthropic.com/x", "", ""},
		{ported, "GET", "https://api.anthropic.com:443/x", "", ""},
		{ported, "GET", "https://api.anthropic.com:8443/x", api.CodeScopeViolation, `host "api.anthropic.com:8443" is outside the lease's scope`},
		{ported, "GET", "http://127.0.0.1:8080/x", "", ""},
		{ported, "GET", "http://127.0.0.1/x", api.CodeScopeViolation, `host "127.0.0.1" is outside the lease's scope`},
		{ported, "GET", "https://a.example.com/x", "", ""},
		{ported, "GET", "https://example.com/x", api.CodeScopeViolation, `host "example.com" is outside the lease's scope`},
	}
	for _, c := range cases {
		u, err := NormalizeURL(c.url)
		if err != nil {
			t.Fatalf("NormalizeURL(%q): %v", c.url, err)
		}
		err = c.l.Check(c.method, u)
		if got := CodeOf(err); got != c.code {
			t.Errorf("Check(%s %s) = %v, want code %q", c.method, c.url, err, c.code)
			continue
		}
		if err != nil {
			if err.Error() != c.detail {
				t.Errorf("Check(%s %s) message = %q, want %q", c.method, c.url, err.Error(), c.detail)
			}
			if err.(*Error).Status != 403 {
				t.Errorf("Check(%s %s) status = %d, want 403", c.method, c.url, err.(*Error).Status)
			}
		}
	}
}

func TestMakeScope(t *testing.T) {
	cred := Ceiling{Name: "c", Hosts: []string{"api.anthropic.com", "*.example.com"}}
	cases := []struct {
		name string
		req  api.CreateLeaseRequest
		want api.Scope
		code string
	}{
		{"defaults to the credential's hosts", api.CreateLeaseRequest{}, api.Scope{Hosts: cred.Hosts}, ""},
		{"narrowed, lower-cased, deduplicated", api.CreateLeaseRequest{Hosts: []string{"A.example.com", "a.example.com"}, Methods: []string{"post", "POST", "get"}, PathPrefixes: []string{"/v1/", "/v1/"}},
			api.Scope{Hosts: []string{"a.example.com"}, Methods: []string{"POST", "GET"}, PathPrefixes: []string{"/v1/"}}, ""},
		{"host outside", api.CreateLeaseRequest{Hosts: []string{"example.com"}}, api.Scope{}, api.CodeScopeViolation},
		{"bad method", api.CreateLeaseRequest{Methods: []string{"GE T"}}, api.Scope{}, api.CodeBadRequest},
		{"relative prefix", api.CreateLeaseRequest{PathPrefixes: []string{"v1"}}, api.Scope{}, api.CodeBadRequest},
		{"dot-dot prefix", api.CreateLeaseRequest{PathPrefixes: []string{"/v1/../admin"}}, api.Scope{}, api.CodeBadRequest},
		{"encoded prefix", api.CreateLeaseRequest{PathPrefixes: []string{"/v1%2fadmin"}}, api.Scope{}, api.CodeBadRequest},
		{"backslash prefix", api.CreateLeaseRequest{PathPrefixes: []string{`/v1\admin`}}, api.Scope{}, api.CodeBadRequest},
		{"query prefix", api.CreateLeaseRequest{PathPrefixes: []string{"/v1?x"}}, api.Scope{}, api.CodeBadRequest},
		{"too many hosts", api.CreateLeaseRequest{Hosts: make([]string, maxHosts+1)}, api.Scope{}, api.CodeBadRequest},
	}
	for _, c := range cases {
		got, err := makeScope(cred, c.req)
		if CodeOf(err) != c.code {
			t.Errorf("%s: makeScope = %v, want code %q", c.name, err, c.code)
			continue
		}
		if err == nil && !equalScope(got, c.want) {
			t.Errorf("%s: makeScope = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func equalScope(a, b api.Scope) bool {
	return strings.Join(a.Hosts, ",") == strings.Join(b.Hosts, ",") &&
		strings.Join(a.Methods, ",") == strings.Join(b.Methods, ",") &&
		strings.Join(a.PathPrefixes, ",") == strings.Join(b.PathPrefixes, ",")
}

func TestValidLabel(t *testing.T) {
	for label, ok := range map[string]bool{
		"":                                true,
		"forwarder anthropic@ci-runner-7": true,
		"héllo":                           true,
		strings.Repeat("a", MaxLabel):     true,
		strings.Repeat("a", MaxLabel+1):   false,
		"line\nbreak":                     false,
		"esc\x1b[31m":                     false,
		"\xff":                            false,
	} {
		if err := validLabel(label); (err == nil) != ok {
			t.Errorf("validLabel(%q) = %v, want ok=%v", label, err, ok)
		}
	}
}
