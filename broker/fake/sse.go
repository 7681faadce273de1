package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// sseEvent is one server-sent event: its name and its JSON data.
type sseEvent struct {
	name string
	data any
}

// writeSSE answers 200 with events as a text/event-stream, each flushed
// at once and, after the first, delay apart. It stops when the client
// goes away.
func writeSSE(w http.ResponseWriter, r *http.Request, delay time.Duration, events []sseEvent) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
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
