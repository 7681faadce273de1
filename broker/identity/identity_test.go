package identity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

func fastHTTP() *http.Client {
	return provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
}

func newGitHub(t *testing.T) (*fake.GitHub, *GitHubActions) {
	t.Helper()
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	g, err := NewGitHubActions(GitHubConfig{Name: "github", RequestURL: gh.RequestURL(), RequestToken: gh.RequestToken(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return gh, g
}

func TestMintRequestShape(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Write([]byte(`{"count":1,"value":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}`))
	}))
	defer srv.Close()
	g, err := NewGitHubActions(GitHubConfig{Name: "g", RequestURL: srv.URL + "/_apis/token?api-version=2.0", RequestToken: secret.New("req-token"), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Mint(context.Background(), "https://api.anthropic.com"); err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if q.Get("api-version") != "2.0" || q.Get("audience") != "https://api.anthropic.com" {
		t.Errorf("query = %v", got.URL.RawQuery)
	}
	if got.Header.Get("Authorization") != "Bearer req-token" {
		t.Errorf("authorization = %q", got.Header.Get("Authorization"))
	}
}

func TestFreshJWTPerMint(t *testing.T) {
	gh, g := newGitHub(t)
	a, err := g.Mint(context.Background(), "aud")
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Mint(context.Background(), "aud")
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) || gh.Mints() != 2 {
		t.Fatalf("mints=%d, same token twice=%v", gh.Mints(), a.Equal(b))
	}
}

func TestMintFailures(t *testing.T) {
	gh, g := newGitHub(t)
	cases := []struct {
		name      string
		setup     func()
		permanent bool
		code      string
	}{
		{"completed job", func() { gh.SetCompleted(true) }, true, "job_completed"},
		{"401", func() { gh.FailWith(401) }, true, "unauthorized"},
		{"403", func() { gh.FailWith(403) }, true, "unauthorized"},
		{"500", func() { gh.FailWith(500) }, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gh.SetCompleted(false)
			gh.FailWith(0)
			c.setup()
			_, err := g.Mint(context.Background(), "aud")
			pe, ok := provider.AsError(err)
			if !ok || provider.IsPermanent(err) != c.permanent || pe.Code != c.code {
				t.Fatalf("err = %v, want permanent=%v code=%q", err, c.permanent, c.code)
			}
			if strings.Contains(err.Error(), gh.RequestToken().Reveal()) {
				t.Fatal("error leaks the request token")
			}
		})
	}
}

func TestRetries5xx(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{"value":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}`))
	}))
	defer srv.Close()
	g, _ := NewGitHubActions(GitHubConfig{Name: "g", RequestURL: srv.URL + "/?api-version=2.0", RequestToken: secret.New("t"), HTTP: fastHTTP()})
	if _, err := g.Mint(context.Background(), "aud"); err != nil || n.Load() != 3 {
		t.Fatalf("err=%v attempts=%d", err, n.Load())
	}
}

func TestBadValues(t *testing.T) {
	for body, want := range map[string]string{
		`{"count":1}`:              "has no value",
		`{"value":"not-a-jwt"}`:    "not a JWT",
		`<html>`:                   "not JSON",
		`{"value":"a.b.c"}`:        "not a JWT",
		`{"value":"e30.e30.c2ln"}`: "names no alg",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		g, _ := NewGitHubActions(GitHubConfig{Name: "g", RequestURL: srv.URL, RequestToken: secret.New("t"), HTTP: fastHTTP()})
		_, err := g.Mint(context.Background(), "aud")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("body %s: err = %v, want %q", body, err, want)
		}
		srv.Close()
	}
}

func TestRequestURLChecks(t *testing.T) {
	g, _ := NewGitHubActions(GitHubConfig{Name: "g", AllowedHosts: []string{"*.actions.githubusercontent.com", "ghes.example.com"}})
	cases := map[string]string{
		"https://pipelines.actions.githubusercontent.com/x?api-version=2.0": "",
		"https://a.b.actions.githubusercontent.com/x":                       "",
		"https://ghes.example.com/x":                                        "",
		"http://127.0.0.1:8080/x":                                           "",
		"https://actions.githubusercontent.com/x":                           "not in allowed_request_hosts",
		"https://evil.example.com/x":                                        "not in allowed_request_hosts",
		"http://pipelines.actions.githubusercontent.com/x":                  "must be https",
		"not a url": "not an absolute URL",
	}
	for u, want := range cases {
		err := g.Register(u, secret.New("t"))
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Register(%s) = %v, want %q", u, err, want)
		}
	}
}

func TestRegisterClearGeneration(t *testing.T) {
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	g, _ := NewGitHubActions(GitHubConfig{Name: "g", HTTP: fastHTTP()})
	if g.Registered() || g.Generation() != 0 {
		t.Fatal("new identity should be unregistered at generation 0")
	}
	_, err = g.Mint(context.Background(), "aud")
	if pe, ok := provider.AsError(err); !ok || pe.Code != "not_registered" || !provider.IsPermanent(err) {
		t.Fatalf("unregistered mint: %v", err)
	}
	if err := g.Register(gh.RequestURL(), gh.RequestToken()); err != nil {
		t.Fatal(err)
	}
	if !g.Registered() || g.Generation() != 1 {
		t.Fatalf("after register: %v %d", g.Registered(), g.Generation())
	}
	if _, err := g.Mint(context.Background(), "aud"); err != nil {
		t.Fatal(err)
	}
	g.Clear()
	if g.Registered() || g.Generation() != 2 {
		t.Fatalf("after clear: %v %d", g.Registered(), g.Generation())
	}
	if err := g.Register(gh.RequestURL(), secret.Value{}); err == nil {
		t.Fatal("empty request token accepted")
	}
}

func TestFileIdentity(t *testing.T) {
	gh, err := fake.NewGitHub(fake.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	path := filepath.Join(t.TempDir(), "token")
	f := NewFile(path)
	if _, err := f.Mint(context.Background(), ""); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(path, nil, 0o600)
	if _, err := f.Mint(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
	os.WriteFile(path, []byte("garbage-not-a-jwt"), 0o600)
	_, err = f.Mint(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "not a JWT") || strings.Contains(err.Error(), "garbage") {
		t.Errorf("non-JWT file: %v", err)
	}
	one, two := gh.MintJWT("a"), gh.MintJWT("a")
	os.WriteFile(path, []byte(one+"\n"), 0o600)
	if v, err := f.Mint(context.Background(), ""); err != nil || v.Reveal() != one {
		t.Fatalf("first read: %v", err)
	}
	os.WriteFile(path, []byte(two), 0o600)
	if v, _ := f.Mint(context.Background(), ""); v.Reveal() != two {
		t.Fatal("rotated file not re-read")
	}
	// The file-trust rule (filetrust.Secret): a token others can read is
	// refused, named with its owner and mode, and the token is not in the
	// error.
	os.Chmod(path, 0o644)
	_, err = f.Mint(context.Background(), "")
	want := "identity file " + path + " (owner uid " + strconv.Itoa(os.Getuid()) + ", mode 0644): readable by others; chmod o-r " + path
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), two) || provider.IsPermanent(err) {
		t.Errorf("world-readable identity file: %v\nwant transient, containing %s", err, want)
	}
}

func TestMatchHost(t *testing.T) {
	cases := []struct {
		p, h string
		ok   bool
	}{
		{"a.com", "A.com", true}, {"*.a.com", "x.a.com", true}, {"*.a.com", "x.y.a.com", true},
		{"*.a.com", "a.com", false}, {"*.a.com", "xa.com", false}, {"a.com", "b.com", false},
	}
	for _, c := range cases {
		if MatchHost(c.p, c.h) != c.ok {
			t.Errorf("MatchHost(%s, %s) != %v", c.p, c.h, c.ok)
		}
	}
	_ = url.URL{}
}
