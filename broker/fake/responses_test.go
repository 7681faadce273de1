package fake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const testBearer = "tok-responses-test"

func newTestResponses(t *testing.T) *Responses {
	t.Helper()
	r := NewResponses(func(s string) bool { return s == testBearer })
	t.Cleanup(r.Close)
	return r
}

// TestResponsesHTTPIsStrict: the POST endpoint refuses a missing or wrong
// bearer and a bearer beside an api-key (401), a body without model or
// input (400, with the API's message), and answers a valid request as JSON
// or, when it asks to stream, as events ending in response.completed.
func TestResponsesHTTPIsStrict(t *testing.T) {
	r := newTestResponses(t)
	const good = `{"model":"gpt-x","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi there"}]}]`
	for _, tc := range []struct {
		name       string
		auth, body string
		apiKey     bool
		wantStatus int
		wantInBody string
	}{
		{"no bearer", "", good + "}", false, 401, "invalid_api_key"},
		{"wrong bearer", "Bearer nope", good + "}", false, 401, "invalid_api_key"},
		{"bearer beside an api-key", "Bearer " + testBearer, good + "}", true, 401, "invalid_api_key"},
		{"not JSON", "Bearer " + testBearer, "{", false, 400, "could not parse the JSON body"},
		{"no model", "Bearer " + testBearer, `{"input":[{}]}`, false, 400, "Missing required parameter: 'model'."},
		{"no input", "Bearer " + testBearer, `{"model":"gpt-x"}`, false, 400, "Missing required parameter: 'input'."},
		{"warm-up is WebSocket-only", "Bearer " + testBearer, `{"model":"gpt-x","generate":false}`, false, 400, "Missing required parameter: 'input'."},
		{"JSON answer", "Bearer " + testBearer, good + "}", false, 200, ResponsesReply},
		{"streamed answer", "Bearer " + testBearer, good + `,"stream":true}`, false, 200, "event: response.completed\ndata: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", r.URL()+"/v1/responses", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.apiKey {
				req.Header.Set("api-key", "k")
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
		})
	}
	if in := r.LastInput(); len(in) != 1 || in[0] != "hi there" {
		t.Errorf("LastInput = %q", in)
	}
	c := r.Counts()
	if c.Refused != 3 || c.Invalid != 4 || c.HTTP != 2 || c.Streamed != 1 || c.Upgrades != 0 {
		t.Errorf("counts = %+v", c)
	}
}

// TestResponsesWebSocket: an upgrade without the bearer is refused with
// 401 before any upgrade; on an accepted one, a warm-up gets an empty
// response, response.create gets the streamed events, and a message of
// another type gets an error event while the connection stays usable.
func TestResponsesWebSocket(t *testing.T) {
	r := newTestResponses(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(r.URL(), "http") + "/v1/responses"
	_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer nope"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upgrade with a wrong bearer: err %v, resp %v; want 401", err, resp)
	}
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + testBearer}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// exchange sends msg and reads events until one of a final type.
	exchange := func(msg string) []map[string]any {
		t.Helper()
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		var evs []map[string]any
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ev map[string]any
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
			if ev["type"] == "response.completed" || ev["type"] == "error" {
				return evs
			}
		}
	}
	types := func(evs []map[string]any) string {
		var s []string
		for _, e := range evs {
			s = append(s, e["type"].(string))
		}
		return strings.Join(s, ",")
	}
	if got := types(exchange(`{"type":"response.create","model":"gpt-x","input":[],"generate":false}`)); got != "response.created,response.completed" {
		t.Errorf("warm-up answered %s", got)
	}
	if got := types(exchange(`{"type":"session.update"}`)); got != "error" {
		t.Errorf("unknown message answered %s", got)
	}
	evs := exchange(`{"type":"response.create","model":"gpt-x","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"ws hi"}]}]}`)
	if len(evs) != 8 || !strings.Contains(types(evs), "response.output_text.delta") {
		t.Errorf("response.create answered %s", types(evs))
	}
	c := r.Counts()
	if c.Upgrades != 1 || c.Warmups != 1 || c.Messages != 1 || c.Invalid != 1 || c.Refused != 1 || c.HTTP != 0 {
		t.Errorf("counts = %+v", c)
	}
}
