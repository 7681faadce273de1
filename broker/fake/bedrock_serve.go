package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// BedrockReply is the text every fake model answers.
const BedrockReply = "Hello from the fake Bedrock."

// converseRequest is the part of a Converse body the fake checks.
type converseRequest struct {
	Messages []struct {
		Role    string           `json:"role"`
		Content []map[string]any `json:"content"`
	} `json:"messages"`
}

func (c *converseRequest) valid() bool {
	if len(c.Messages) == 0 {
		return false
	}
	for _, m := range c.Messages {
		if (m.Role != "user" && m.Role != "assistant") || len(m.Content) == 0 {
			return false
		}
	}
	return true
}

func (b *Bedrock) serveConverse(w http.ResponseWriter, r *http.Request, body []byte) {
	var req converseRequest
	if json.Unmarshal(body, &req) != nil || !req.valid() {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "A conversation must start with a user message.")
		return
	}
	w.Header().Set("x-amzn-RequestId", uuidLike())
	writeJSON(w, http.StatusOK, map[string]any{
		"output": map[string]any{"message": map[string]any{
			"role": "assistant", "content": []map[string]string{{"text": BedrockReply}},
		}},
		"stopReason": "end_turn",
		"usage":      map[string]int{"inputTokens": 3, "outputTokens": 6, "totalTokens": 9},
		"metrics":    map[string]int{"latencyMs": 1},
	})
}

// invokeAnswer is an Anthropic-on-Bedrock Messages answer.
func invokeAnswer(model string) map[string]any {
	return map[string]any{
		"id": "msg_bdrk_" + randomHex(8), "type": "message", "role": "assistant", "model": model,
		"content":     []map[string]string{{"type": "text", "text": BedrockReply}},
		"stop_reason": "end_turn", "usage": map[string]int{"input_tokens": 3, "output_tokens": 6},
	}
}

func (b *Bedrock) serveInvoke(w http.ResponseWriter, r *http.Request, body []byte) {
	if !json.Valid(body) {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request, please reformat your input and try again.")
		return
	}
	w.Header().Set("x-amzn-RequestId", uuidLike())
	writeJSON(w, http.StatusOK, invokeAnswer(r.PathValue("model")))
}

// streamEvent is one event of a response stream.
type streamEvent struct {
	typ     string
	payload any
}

func (b *Bedrock) serveConverseStream(w http.ResponseWriter, r *http.Request, body []byte) {
	var req converseRequest
	if json.Unmarshal(body, &req) != nil || !req.valid() {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "A conversation must start with a user message.")
		return
	}
	words := []string{"Hello", " from", " the", " fake", " Bedrock."}
	events := []streamEvent{{"messageStart", map[string]string{"role": "assistant"}}}
	for _, t := range words {
		events = append(events, streamEvent{"contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]string{"text": t}}})
	}
	events = append(events,
		streamEvent{"contentBlockStop", map[string]int{"contentBlockIndex": 0}},
		streamEvent{"messageStop", map[string]string{"stopReason": "end_turn"}},
		streamEvent{"metadata", map[string]any{"usage": map[string]int{"inputTokens": 3, "outputTokens": 6, "totalTokens": 9}, "metrics": map[string]int{"latencyMs": 1}}},
	)
	b.stream(w, r, events)
}

func (b *Bedrock) serveInvokeStream(w http.ResponseWriter, r *http.Request, body []byte) {
	if !json.Valid(body) {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request, please reformat your input and try again.")
		return
	}
	model := r.PathValue("model")
	parts := []any{
		map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_bdrk_" + randomHex(8), "type": "message", "role": "assistant", "model": model, "content": []any{}}},
		map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]string{"type": "text", "text": ""}},
		map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": BedrockReply}},
		map[string]any{"type": "content_block_stop", "index": 0},
		map[string]any{"type": "message_stop"},
	}
	events := make([]streamEvent, 0, len(parts))
	for _, p := range parts {
		raw, _ := json.Marshal(p)
		events = append(events, streamEvent{"chunk", map[string]string{"bytes": base64.StdEncoding.EncodeToString(raw), "p": "abcdefgh"}})
	}
	b.stream(w, r, events)
}

// stream writes events as application/vnd.amazon.eventstream frames,
// flushing each.
func (b *Bedrock) stream(w http.ResponseWriter, r *http.Request, events []streamEvent) {
	b.mu.Lock()
	delay, hold := b.eventDelay, b.hold
	fault, faultAt := b.streamFault, b.streamFaultAt
	b.streamFault = ""
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("x-amzn-RequestId", uuidLike())
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	for i, ev := range events {
		if i == 1 && hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if i > 0 && delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		var hs eventstream.Headers
		if fault != "" && i == faultAt {
			// In-stream errors are exception frames (protocols.md §3).
			ev = streamEvent{fault, map[string]string{"message": "Too many requests, please wait before trying again."}}
			hs.Set(":message-type", eventstream.StringValue("exception"))
			hs.Set(":exception-type", eventstream.StringValue(fault))
		} else {
			hs.Set(":message-type", eventstream.StringValue("event"))
			hs.Set(":event-type", eventstream.StringValue(ev.typ))
		}
		hs.Set(":content-type", eventstream.StringValue("application/json"))
		payload, _ := json.Marshal(ev.payload)
		buf.Reset()
		if err := enc.Encode(&buf, eventstream.Message{Headers: hs, Payload: payload}); err != nil {
			return
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		if fault != "" && i == faultAt {
			return
		}
	}
}
