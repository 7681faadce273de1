package fake

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFederationRule checks the rule the Console configures: the subject
// match, the workspaces, the archived rule and the lifetime bound by the
// assertion.
func TestFederationRule(t *testing.T) {
	gh, err := NewGitHub(GitHubOptions{TTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	body := func(assertion, workspace string) map[string]any {
		m := map[string]any{"grant_type": grantJWT, "assertion": assertion, "federation_rule_id": "fdrl_x", "organization_id": "org"}
		if workspace != "" {
			m["workspace_id"] = workspace
		}
		return m
	}
	// The fake's JWTs carry sub "repo:octo-org/octo-repo:ref:refs/heads/main".
	cases := []struct {
		name      string
		subject   string
		archive   bool
		bounded   bool
		rulesWS   []string // the rule's workspaces
		ws        string   // the exchange's workspace_id
		status    int
		inBody    string
		expiresIn int // checked when status is 200
	}{
		{"prefix match", "repo:octo-org/octo-repo:*", false, false, nil, "", 200, TokenPrefix, 3600},
		{"exact match", "repo:octo-org/octo-repo:ref:refs/heads/main", false, false, nil, "", 200, TokenPrefix, 3600},
		{"any subject", "", false, false, nil, "", 200, TokenPrefix, 3600},
		{"other repository", "repo:octo-org/other-repo:*", false, false, nil, "", 401, "Authentication failed", 0},
		{"other branch, exact", "repo:octo-org/octo-repo:ref:refs/heads/release", false, false, nil, "", 401, "Authentication failed", 0},
		{"prefix without the star is exact", "repo:octo-org/octo-repo:", false, false, nil, "", 401, "Authentication failed", 0},
		{"archived rule", "repo:octo-org/octo-repo:*", true, false, nil, "", 401, "Authentication failed", 0},
		{"bounded by the 5-minute JWT", "repo:octo-org/octo-repo:*", false, true, nil, "", 200, TokenPrefix, 300},
		{"workspaces unchecked", "", false, false, nil, "wrkspc_any", 200, TokenPrefix, 3600},
		{"another workspace than the rule's", "", false, false, []string{"wrkspc_a"}, "wrkspc_other", 401, "Authentication failed", 0},
		{"the rule's workspace", "", false, false, []string{"wrkspc_a"}, "wrkspc_a", 200, TokenPrefix, 3600},
		{"one workspace, none named", "", false, false, []string{"wrkspc_a"}, "", 200, TokenPrefix, 3600},
		{"several workspaces, none named", "", false, false, []string{"wrkspc_a", "wrkspc_b"}, "", 401, "Authentication failed", 0},
		{"several workspaces, one named", "", false, false, []string{"wrkspc_a", "wrkspc_b"}, "wrkspc_b", 200, TokenPrefix, 3600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := NewAnthropic(AnthropicOptions{GitHub: gh, FederationRuleID: "fdrl_x", OrganizationID: "org", Subject: c.subject, BoundByAssertion: c.bounded, Workspaces: c.rulesWS})
			defer a.Close()
			if c.archive {
				a.ArchiveRule()
			}
			status, out := post(t, a, exchangeBeta, body(gh.MintJWT("https://api.anthropic.com"), c.ws))
			if status != c.status || !strings.Contains(out, c.inBody) {
				t.Fatalf("got %d %s, want %d with %q", status, out, c.status, c.inBody)
			}
			if status != 200 {
				return
			}
			var tok struct {
				ExpiresIn int `json:"expires_in"`
			}
			if err := json.Unmarshal([]byte(out), &tok); err != nil {
				t.Fatal(err)
			}
			// The JWT was minted a moment ago: a bounded lifetime may be a
			// second short of the JWT's 300 s.
			if tok.ExpiresIn > c.expiresIn || tok.ExpiresIn < c.expiresIn-2 {
				t.Fatalf("expires_in = %d, want %d", tok.ExpiresIn, c.expiresIn)
			}
		})
	}
}
