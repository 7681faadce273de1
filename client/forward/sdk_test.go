package forward

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

const sdkMessage = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",` +
	`"content":[{"type":"text","text":"hello through the forwarder"}],"stop_reason":"end_turn",` +
	`"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":4}}`

var sdkStream = []string{
	`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":0}}}`,
	`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"stre"}}`,
	`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"amed"}}`,
	`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}`,
	`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`,
	`event: message_stop` + "\n" + `data: {"type":"message_stop"}`,
}

// serveMessages is a small Messages API: JSON, or SSE when asked to stream.
func serveMessages(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" || r.Header.Get("Anthropic-Version") == "" {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"no such route"}}`)
		return
	}
	if !bytes.Contains(body, []byte(`"stream":true`)) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, sdkMessage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, ev := range sdkStream {
		io.WriteString(w, ev+"\n\n")
		w.(http.Flusher).Flush()
	}
}

func TestAnthropicSDKThroughTheForwarder(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.up.route = serveMessages
	sdk := anthropic.NewClient(
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(h.url),
		option.WithAPIKey("placeholder"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(h.hc),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model("claude-test"),
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}

	msg, err := sdk.Messages.New(ctx, params)
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "hello through the forwarder" {
		t.Errorf("message %+v", msg.Content)
	}

	stream := sdk.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(acc.Content) != 1 || acc.Content[0].Text != "streamed" || acc.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("streamed message %+v", acc)
	}

	if n := h.up.agentKeys.Load(); n != 0 {
		t.Errorf("the upstream saw the SDK's placeholder key %d times", n)
	}
	if n := h.up.unauth.Load(); n != 0 {
		t.Errorf("%d unauthenticated upstream arrivals", n)
	}
	for _, r := range h.up.requests() {
		if strings.Contains(strings.ToLower(r.Header.Get("Authorization")+r.Header.Get("X-Api-Key")), "placeholder") {
			t.Errorf("upstream request carried the placeholder: %v", r.Header)
		}
	}
	if n := len(h.up.requests()); n != 2 {
		t.Errorf("%d upstream requests, want 2", n)
	}
}
