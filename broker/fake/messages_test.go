package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMessagesAPIIsStrict: the Messages fake checks a body as the API
// does (model, max_tokens, messages; count_tokens needs no max_tokens),
// answers Claude Code's unauthenticated connectivity check, and records
// what each authenticated call carried.
func TestMessagesAPIIsStrict(t *testing.T) {
	gh, err := NewGitHub(GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	tok := NewAnthropic(AnthropicOptions{GitHub: gh, FederationRuleID: "fdrl_x", OrganizationID: "org"})
	defer tok.Close()
	api := NewAnthropicAPI(tok)
	defer api.Close()
	status, out := post(t, tok, exchangeBeta, map[string]any{"grant_type": grantJWT, "assertion": gh.MintJWT("https://api.anthropic.com"),
		"federation_rule_id": "fdrl_x", "organization_id": "org"})
	var minted struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal([]byte(out), &minted) != nil {
		t.Fatalf("exchange: %d", status)
	}
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, method, path, body string
		bearer                   bool
		wantStatus               int
		wantInBody               string
	}{
		{"connectivity check needs no credentials", "HEAD", "/api/hello", "", false, 200, ""},
		{"no bearer", "POST", "/v1/messages", `{"model":"m","max_tokens":8,` + msgs + `}`, false, 401, "authentication_error"},
		{"not JSON", "POST", "/v1/messages", `{`, true, 400, "not valid JSON"},
		{"no model", "POST", "/v1/messages", `{"max_tokens":8,` + msgs + `}`, true, 400, "model: Field required"},
		{"no max_tokens", "POST", "/v1/messages", `{"model":"m",` + msgs + `}`, true, 400, "max_tokens: Field required"},
		{"no messages", "POST", "/v1/messages", `{"model":"m","max_tokens":8}`, true, 400, "at least one message"},
		{"count_tokens needs no max_tokens", "POST", "/v1/messages/count_tokens", `{"model":"m",` + msgs + `}`, true, 200, `"input_tokens":12`},
		{"JSON answer", "POST", "/v1/messages", `{"model":"m","max_tokens":8,` + msgs + `}`, true, 200, MessagesReply},
		{"streamed with tools", "POST", "/v1/messages?beta=true", `{"model":"m","max_tokens":8,"stream":true,"tools":[{"name":"Bash"},{"name":"Read"}],` + msgs + `}`, true, 200, "event: message_stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, api.URL()+tc.path, strings.NewReader(tc.body))
			if tc.bearer {
				req.Header.Set("Authorization", "Bearer "+minted.AccessToken)
				req.Header.Set("anthropic-beta", "claude-code-20250219,oauth-2025-04-20")
				req.Header.Set("anthropic-version", "2023-06-01")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantInBody) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.wantInBody)
			}
			if strings.Contains(tc.body, `"stream":true`) {
				if got := streamedText(t, string(body)); got != MessagesReply {
					t.Errorf("streamed text %q, want MessagesReply %q", got, MessagesReply)
				}
			}
		})
	}
	calls := api.Calls()
	if len(calls) != 2 || calls[0] != (MessagesCall{Model: "m"}) || calls[1] != (MessagesCall{Model: "m", Stream: true, Tools: 2}) {
		t.Errorf("calls = %+v", calls)
	}
}

// streamedText joins the text deltas of a Messages event stream.
func streamedText(t *testing.T, stream string) string {
	t.Helper()
	var text strings.Builder
	for line := range strings.Lines(stream) {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Delta struct {
				Type, Text string
			}
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event data %s: %v", data, err)
		}
		if ev.Delta.Type == "text_delta" {
			text.WriteString(ev.Delta.Text)
		}
	}
	return text.String()
}
