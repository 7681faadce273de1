package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// MessagesReply is the text every answer of the Messages fake carries.
const MessagesReply = "Hello from the fake."

// AnthropicAPI fakes the Messages API: it accepts only a currently valid
// bearer minted by its token endpoint fake, with the OAuth beta, checks
// the body as the real API does (model, max_tokens, messages), and answers
// like the real API (JSON, or SSE when asked to stream). It also serves
// count_tokens and the unauthenticated HEAD /api/hello connectivity check
// Claude Code starts with.
type AnthropicAPI struct {
	srv    *httptest.Server
	tokens *Anthropic

	mu              sync.Mutex
	served          int
	unauthenticated int
	unauthorizeNext bool
	eventDelay      time.Duration
	headers         []http.Header
	calls           []MessagesCall
}

// MessagesCall is what one authenticated Messages request carried.
type MessagesCall struct {
	Model  string
	Stream bool
	// Tools is the number of tools the request offered (Claude Code
	// offers its whole tool set on every turn).
	Tools int
}

// NewAnthropicAPI starts the fake on a loopback port.
func NewAnthropicAPI(tokens *Anthropic) *AnthropicAPI {
	a := &AnthropicAPI{tokens: tokens}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", a.serveMessages)
	mux.HandleFunc("POST /v1/messages/count_tokens", a.serveCountTokens)
	mux.HandleFunc("GET /v1/models", a.serveModels)
	mux.HandleFunc("HEAD /api/hello", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	a.srv = httptest.NewServer(mux)
	return a
}

// URL is the fake's base URL.
func (a *AnthropicAPI) URL() string { return a.srv.URL }

// Close stops the fake.
func (a *AnthropicAPI) Close() { a.srv.Close() }

// Served counts authenticated requests answered.
func (a *AnthropicAPI) Served() int { a.mu.Lock(); defer a.mu.Unlock(); return a.served }

// Unauthenticated counts requests refused for their credentials.
func (a *AnthropicAPI) Unauthenticated() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.unauthenticated
}

// Headers returns copies of every request's headers.
func (a *AnthropicAPI) Headers() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.headers...)
}

// Calls returns what every authenticated Messages request carried.
func (a *AnthropicAPI) Calls() []MessagesCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]MessagesCall(nil), a.calls...)
}

// SetUnauthorizedOnce answers the next authenticated request with 401.
func (a *AnthropicAPI) SetUnauthorizedOnce() { a.mu.Lock(); a.unauthorizeNext = true; a.mu.Unlock() }

// SetEventDelay sets the pause between streamed events.
func (a *AnthropicAPI) SetEventDelay(d time.Duration) { a.mu.Lock(); a.eventDelay = d; a.mu.Unlock() }

func (a *AnthropicAPI) authorize(w http.ResponseWriter, r *http.Request) bool {
	a.mu.Lock()
	a.headers = append(a.headers, r.Header.Clone())
	a.mu.Unlock()
	betaOK := false
	for _, b := range strings.Split(r.Header.Get("anthropic-beta"), ",") {
		betaOK = betaOK || strings.TrimSpace(b) == "oauth-2025-04-20"
	}
	valid := betaOK && r.Header.Get("anthropic-version") != "" && a.tokens != nil &&
		bearerOK(r, a.tokens.Valid, "X-Api-Key")
	a.mu.Lock()
	if valid && a.unauthorizeNext {
		a.unauthorizeNext, valid = false, false
	}
	if !valid {
		a.unauthenticated++
	} else {
		a.served++
	}
	a.mu.Unlock()
	if !valid {
		writeJSON(w, http.StatusUnauthorized, apiError("authentication_error", "invalid x-api-key"))
	}
	return valid
}

func (a *AnthropicAPI) serveModels(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": []map[string]string{{"type": "model", "id": "claude-fake-1", "display_name": "Claude Fake"}}, "has_more": false})
}

// messagesRequest is the part of a Messages body the fake checks.
type messagesRequest struct {
	Model     string            `json:"model"`
	MaxTokens int               `json:"max_tokens"`
	Messages  []json.RawMessage `json:"messages"`
	Tools     []json.RawMessage `json:"tools"`
	Stream    bool              `json:"stream"`
}

// decodeMessages reads and checks a Messages body as the API does; it
// answers 400 itself and reports false when the body is refused. For
// count_tokens, max_tokens is not required.
func decodeMessages(w http.ResponseWriter, r *http.Request, needMaxTokens bool) (messagesRequest, bool) {
	var req messagesRequest
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	msg := ""
	switch {
	case json.Unmarshal(raw, &req) != nil:
		msg = "There was an issue with your request body: it is not valid JSON"
	case req.Model == "":
		msg = "model: Field required"
	case needMaxTokens && req.MaxTokens <= 0:
		msg = "max_tokens: Field required"
	case len(req.Messages) == 0:
		msg = "messages: at least one message is required"
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, apiError("invalid_request_error", msg))
		return req, false
	}
	return req, true
}

func (a *AnthropicAPI) serveCountTokens(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r) {
		return
	}
	if _, ok := decodeMessages(w, r, false); ok {
		writeJSON(w, http.StatusOK, map[string]int{"input_tokens": 12})
	}
}

func (a *AnthropicAPI) serveMessages(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r) {
		return
	}
	req, ok := decodeMessages(w, r, true)
	if !ok {
		return
	}
	a.mu.Lock()
	a.calls = append(a.calls, MessagesCall{Model: req.Model, Stream: req.Stream, Tools: len(req.Tools)})
	a.mu.Unlock()
	id := "msg_" + randomHex(8)
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []map[string]string{{"type": "text", "text": MessagesReply}},
			"stop_reason": "end_turn", "usage": map[string]int{"input_tokens": 3, "output_tokens": 5},
		})
		return
	}
	a.stream(w, r, id, req.Model)
}

func (a *AnthropicAPI) stream(w http.ResponseWriter, r *http.Request, id, model string) {
	a.mu.Lock()
	delay := a.eventDelay
	a.mu.Unlock()
	// The reply streams as two deltas, its first word and the rest.
	i := max(strings.IndexByte(MessagesReply, ' '), 0)
	first, rest := MessagesReply[:i], MessagesReply[i:]
	writeSSE(w, r, delay, []sseEvent{
		{"message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{}, "usage": map[string]int{"input_tokens": 3, "output_tokens": 0}}}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]string{"type": "text", "text": ""}}},
		{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": first}}},
		{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": rest}}},
		{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		{"message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn"}, "usage": map[string]int{"output_tokens": 5}}},
		{"message_stop", map[string]any{"type": "message_stop"}},
	})
}
