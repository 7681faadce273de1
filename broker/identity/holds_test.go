package identity

import (
	"testing"

	"github.com/awf-broker/awf-broker/broker/secret"
)

// TestHolds: only the installed request URL and token, both exactly, count
// as the same job; nothing counts before a registration, after GitHub said
// the job completed, or after a clear.
func TestHolds(t *testing.T) {
	gh, g := newGitHub(t)
	other := gh.AddJob("2002")
	// holds: a request URL and token that do not prepare are not held.
	holds := func(rawURL string, token secret.Value) bool {
		r, err := g.Prepare(rawURL, token)
		return err == nil && g.Holds(r)
	}
	cases := []struct {
		name  string
		url   string
		token secret.Value
		want  bool
	}{
		{"the registered job", gh.RequestURL(), gh.RequestToken(), true},
		{"another job's token", gh.RequestURL(), other, false},
		{"another request URL", gh.URL() + "/_apis/other?api-version=2.0", gh.RequestToken(), false},
		{"an empty token", gh.RequestURL(), secret.Value{}, false},
		{"a URL that does not parse", "::", gh.RequestToken(), false},
	}
	for _, c := range cases {
		if got := holds(c.url, c.token); got != c.want {
			t.Errorf("%s: Holds = %v, want %v", c.name, got, c.want)
		}
	}
	gh.SetCompleted(true)
	if _, err := g.Mint(t.Context(), "aud"); err == nil {
		t.Fatal("a mint for a completed job succeeded")
	}
	if holds(gh.RequestURL(), gh.RequestToken()) {
		t.Error("after GitHub said the job completed: Holds = true, want false (a new registration must replace it)")
	}
	gh.SetCompleted(false)
	if err := g.Register(gh.RequestURL(), gh.RequestToken()); err != nil {
		t.Fatal(err)
	}
	if !holds(gh.RequestURL(), gh.RequestToken()) {
		t.Error("after registering again: Holds = false")
	}
	g.Clear()
	if holds(gh.RequestURL(), gh.RequestToken()) {
		t.Error("after Clear: Holds = true, want false")
	}
}
