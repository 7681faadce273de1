package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// ResponsesReply is the text every answer of the Responses fake carries.
const ResponsesReply = "Hello from the fake Responses API."

// Responses fakes OpenAI's Responses API as Codex uses it: POST
// /v1/responses answered as JSON or, when the body asks to stream, as
// server-sent events; and the same endpoint as a WebSocket (Codex's
// default transport), where each response.create message is answered by
// the same events as text messages. Every request and every upgrade must
// carry a bearer that valid accepts and no api-key header, else 401.
type Responses struct {
	srv   *httptest.Server
	valid func(string) bool

	mu        sync.Mutex
	counts    ResponsesCounts
	lastInput []string // the text of the last request's input messages
}

// ResponsesCounts is what the Responses fake saw.
type ResponsesCounts struct {
	// HTTP counts POST /v1/responses answered; Streamed those of them
	// answered as server-sent events.
	HTTP, Streamed int
	// Upgrades counts WebSocket connections accepted; Messages the
	// response.create messages answered on them.
	Upgrades, Messages int
	// Warmups counts response.create messages with generate: false (Codex
	// warms a new connection up with one), answered with an empty response.
	Warmups int
	// Refused counts requests and upgrades refused for their credentials;
	// Invalid those refused for their body.
	Refused, Invalid int
}

// NewResponses starts the fake; valid decides whether a bearer is current
// (e.g. (*OpenAI).Valid).
func NewResponses(valid func(string) bool) *Responses {
	r := &Responses{valid: valid}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/responses", r.servePost)
	mux.HandleFunc("GET /v1/responses", r.serveWebSocket)
	r.srv = httptest.NewServer(mux)
	return r
}

// URL is the fake's base URL (without /v1).
func (r *Responses) URL() string { return r.srv.URL }

// Host is the fake's host:port.
func (r *Responses) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Close stops the fake; open WebSockets are cut.
func (r *Responses) Close() { r.srv.CloseClientConnections(); r.srv.Close() }

// Counts returns what the fake saw so far.
func (r *Responses) Counts() ResponsesCounts { r.mu.Lock(); defer r.mu.Unlock(); return r.counts }

// LastInput returns the input text of the last request answered.
func (r *Responses) LastInput() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lastInput...)
}

// authorized checks the bearer as api.openai.com does and counts a refusal.
func (r *Responses) authorized(w http.ResponseWriter, req *http.Request) bool {
	if bearerOK(req, r.valid, "Api-Key") {
		return true
	}
	r.mu.Lock()
	r.counts.Refused++
	r.mu.Unlock()
	writeJSON(w, http.StatusUnauthorized, openaiError("invalid_request_error", "invalid_api_key",
		"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."))
	return false
}

// openaiError is the API's error body.
func openaiError(typ, code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}}
}

// responsesRequest is the part of a create request the fake checks.
type responsesRequest struct {
	Model  string            `json:"model"`
	Input  []json.RawMessage `json:"input"`
	Stream bool              `json:"stream"`
	// Generate false asks for a warm-up: no input needed, no output given
	// (WebSocket mode only).
	Generate *bool `json:"generate"`
}

// warmup reports whether c asks for a warm-up only.
func (c *responsesRequest) warmup() bool { return c.Generate != nil && !*c.Generate }

// parse decodes and checks a create request as the API does, and returns
// the refusal's message, if any. A warm-up needs no input, on a WebSocket
// only.
func (c *responsesRequest) parse(raw []byte, ws bool) string {
	if err := json.Unmarshal(raw, c); err != nil {
		return fmt.Sprintf("We could not parse the JSON body of your request: %v", err)
	}
	if c.Model == "" {
		return "Missing required parameter: 'model'."
	}
	if len(c.Input) == 0 && !(ws && c.warmup()) {
		return "Missing required parameter: 'input'."
	}
	return ""
}

// texts returns the text of the request's input messages.
func (c *responsesRequest) texts() []string {
	var out []string
	for _, raw := range c.Input {
		var item struct {
			Type    string `json:"type"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		}
		if json.Unmarshal(raw, &item) != nil || item.Type != "message" {
			continue
		}
		for _, p := range item.Content {
			out = append(out, p.Text)
		}
	}
	return out
}

func (r *Responses) servePost(w http.ResponseWriter, req *http.Request) {
	if !r.authorized(w, req) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(req.Body, 32<<20))
	var c responsesRequest
	msg := "could not read the body"
	if err == nil {
		msg = c.parse(raw, false)
	}
	if msg != "" {
		r.mu.Lock()
		r.counts.Invalid++
		r.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, openaiError("invalid_request_error", "invalid_request", msg))
		return
	}
	r.mu.Lock()
	r.counts.HTTP++
	if c.Stream {
		r.counts.Streamed++
	}
	r.lastInput = c.texts()
	r.mu.Unlock()
	w.Header().Set("x-request-id", "req_"+randomHex(16))
	events := responseEvents(c.Model)
	if !c.Stream {
		writeJSON(w, http.StatusOK, events[len(events)-1]["response"])
		return
	}
	sse := make([]sseEvent, len(events))
	for i, ev := range events {
		sse[i] = sseEvent{name: ev["type"].(string), data: ev}
	}
	writeSSE(w, req, 0, sse)
}

// warmupEvents answer a warm-up: an empty response, created and completed.
func warmupEvents(model string) []map[string]any {
	ev := responseEvents(model)
	first, last := ev[0], ev[len(ev)-1]
	resp := last["response"].(map[string]any)
	resp["output"] = []any{}
	last["sequence_number"] = 1
	return []map[string]any{first, last}
}

// responseEvents are the streamed events of one answer, in order; the
// last is response.completed, whose response is the whole answer.
func responseEvents(model string) []map[string]any {
	respID, msgID := "resp_"+randomHex(12), "msg_"+randomHex(12)
	part := map[string]any{"type": "output_text", "text": ResponsesReply, "annotations": []any{}}
	done := map[string]any{"type": "message", "id": msgID, "status": "completed", "role": "assistant", "content": []any{part}}
	response := func(status string, output []any) map[string]any {
		r := map[string]any{"id": respID, "object": "response", "created_at": 1, "status": status, "model": model, "output": output}
		if status == "completed" {
			r["usage"] = map[string]any{"input_tokens": 12, "input_tokens_details": map[string]int{"cached_tokens": 0},
				"output_tokens": 7, "output_tokens_details": map[string]int{"reasoning_tokens": 0}, "total_tokens": 19}
		}
		return r
	}
	return []map[string]any{
		{"type": "response.created", "sequence_number": 0, "response": response("in_progress", []any{})},
		{"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
			"item": map[string]any{"type": "message", "id": msgID, "status": "in_progress", "role": "assistant", "content": []any{}}},
		{"type": "response.content_part.added", "sequence_number": 2, "item_id": msgID, "output_index": 0, "content_index": 0,
			"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}},
		{"type": "response.output_text.delta", "sequence_number": 3, "item_id": msgID, "output_index": 0, "content_index": 0, "delta": ResponsesReply},
		{"type": "response.output_text.done", "sequence_number": 4, "item_id": msgID, "output_index": 0, "content_index": 0, "text": ResponsesReply},
		{"type": "response.content_part.done", "sequence_number": 5, "item_id": msgID, "output_index": 0, "content_index": 0, "part": part},
		{"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": done},
		{"type": "response.completed", "sequence_number": 7, "response": response("completed", []any{done})},
	}
}
