package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// AnthropicAPI fakes the Messages API: it accepts only a currently valid
// bearer minted by its token endpoint fake, with the OAuth beta, and
// answers like the real API (JSON, or SSE when asked to stream).
type AnthropicAPI struct {
	srv    *httptest.Server
	tokens *Anthropic

	mu              sync.Mutex
	served          int
	unauthenticated int
	unauthorizeNext bool
	eventDelay      time.Duration
	headers         []http.Header
}

// NewAnthropicAPI starts the fake on a loopback port.
func NewAnthropicAPI(tokens *Anthropic) *AnthropicAPI {
	a := &AnthropicAPI{tokens: tokens}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", a.serveMessages)
	mux.HandleFunc("GET /v1/models", a.serveModels)
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

// SetUnauthorizedOnce answers the next authenticated request with 401.
func (a *AnthropicAPI) SetUnauthorizedOnce() { a.mu.Lock(); a.unauthorizeNext = true; a.mu.Unlock() }

// SetEventDelay sets the pause between streamed events.
func (a *AnthropicAPI) SetEventDelay(d time.Duration) { a.mu.Lock(); a.eventDelay = d; a.mu.Unlock() }

func (a *AnthropicAPI) authorize(w http.ResponseWriter, r *http.Request) bool {
	a.mu.Lock()
	a.headers = append(a.headers, r.Header.Clone())
	a.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	betaOK := false
	for _, b := range strings.Split(r.Header.Get("anthropic-beta"), ",") {
		betaOK = betaOK || strings.TrimSpace(b) == "oauth-2025-04-20"
	}
	valid := ok && r.Header.Get("X-Api-Key") == "" && betaOK &&
		r.Header.Get("anthropic-version") != "" && a.tokens != nil && a.tokens.Valid(tok)
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

func (a *AnthropicAPI) serveMessages(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r) {
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err := json.Unmarshal(raw, &req); err != nil || req.Model == "" {
		writeJSON(w, http.StatusBadRequest, apiError("invalid_request_error", "model: field required"))
		return
	}
	id := "msg_" + randomHex(8)
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []map[string]string{{"type": "text", "text": "Hello from the fake."}},
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
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	events := []struct {
		name string
		data any
	}{
		{"message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{}, "usage": map[string]int{"input_tokens": 3, "output_tokens": 0}}}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]string{"type": "text", "text": ""}}},
		{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": "Hello"}}},
		{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": " from the fake."}}},
		{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		{"message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn"}, "usage": map[string]int{"output_tokens": 5}}},
		{"message_stop", map[string]any{"type": "message_stop"}},
	}
	for i, ev := range events {
		if i > 0 && delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		b, _ := json.Marshal(ev.data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, b); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}
