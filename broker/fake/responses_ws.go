package fake

import (
	"encoding/json"
	"net/http"

	"github.com/coder/websocket"
)

// serveWebSocket is the Responses API's WebSocket mode: the upgrade is
// authorized like a POST; then each text message {"type":
// "response.create", …create body…} is answered by the events a streamed
// POST would carry, one JSON text message each. A message of another type
// or a bad body gets an error event, and the connection stays open.
func (r *Responses) serveWebSocket(w http.ResponseWriter, req *http.Request) {
	if !r.authorized(w, req) {
		return
	}
	conn, err := websocket.Accept(w, req, nil)
	if err != nil {
		return // Accept has answered the failed handshake
	}
	defer conn.CloseNow()
	conn.SetReadLimit(32 << 20)
	r.mu.Lock()
	r.counts.Upgrades++
	r.mu.Unlock()
	ctx := req.Context()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var head struct {
			Type string `json:"type"`
		}
		var c responsesRequest
		msg := ""
		switch {
		case typ != websocket.MessageText:
			msg = "messages must be text frames holding JSON"
		case json.Unmarshal(data, &head) != nil || head.Type != "response.create":
			msg = "unsupported message type; send response.create"
		default:
			msg = c.parse(data, true)
		}
		if msg != "" {
			r.mu.Lock()
			r.counts.Invalid++
			r.mu.Unlock()
			b, _ := json.Marshal(map[string]any{"type": "error", "status": http.StatusBadRequest,
				"error": map[string]any{"type": "invalid_request_error", "message": msg}})
			if conn.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
			continue
		}
		events := responseEvents(c.Model)
		r.mu.Lock()
		if c.warmup() {
			// A warm-up (generate: false) is answered with an empty
			// response: created, then completed.
			r.counts.Warmups++
			events = warmupEvents(c.Model)
		} else {
			r.counts.Messages++
			r.lastInput = c.texts()
		}
		r.mu.Unlock()
		for _, ev := range events {
			b, _ := json.Marshal(ev)
			if conn.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		}
	}
}
