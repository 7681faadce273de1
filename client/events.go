package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/awf-broker/awf-broker/api"
)

// WatchOptions narrows a Watch.
type WatchOptions struct {
	// Since, when set, first replays the retained events numbered above it.
	Since uint64
	// Types keeps only these event types ("lease.*" keeps a family).
	Types []string
}

// ClosedError says the broker ended an event stream, and why: 1013 for a
// subscriber that fell too far behind, 1001 when the broker stops.
type ClosedError struct {
	Status int
	Reason string
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("event stream closed by the broker (%d): %s", e.Status, e.Reason)
}

// Watcher is a stream of events from GET /v1/events. Next may be called
// from one goroutine at a time; Close from any.
type Watcher struct {
	conn *websocket.Conn
}

// Watch opens the event stream: a websocket over the unix socket.
func (c *Client) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	q := url.Values{}
	if opts.Since > 0 {
		q.Set("since", strconv.FormatUint(opts.Since, 10))
	}
	if len(opts.Types) > 0 {
		q.Set("types", strings.Join(opts.Types, ","))
	}
	u := "ws://unix/v1/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	// The websocket outlives any client timeout: a client without one,
	// on the same transport.
	hc := &http.Client{Transport: c.hc.Transport}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: http.Header{"User-Agent": {c.ua}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, decodeError(resp)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET /v1/events: %w", ctx.Err())
		}
		return nil, &UnreachableError{Socket: c.socket, Err: unwrapURL(err)}
	}
	conn.SetReadLimit(1 << 20)
	return &Watcher{conn: conn}, nil
}

// Next returns the next event. When the broker closes the stream it fails
// with *ClosedError.
func (w *Watcher) Next(ctx context.Context) (api.Event, error) {
	typ, b, err := w.conn.Read(ctx)
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return api.Event{}, &ClosedError{Status: int(ce.Code), Reason: ce.Reason}
		}
		return api.Event{}, fmt.Errorf("read event: %w", err)
	}
	var ev api.Event
	if typ != websocket.MessageText {
		return ev, fmt.Errorf("read event: unexpected %v message", typ)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("decode event: %w", err)
	}
	return ev, nil
}

// NextRaw returns the next message as the broker sent it.
func (w *Watcher) NextRaw(ctx context.Context) ([]byte, error) {
	_, b, err := w.conn.Read(ctx)
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return nil, &ClosedError{Status: int(ce.Code), Reason: ce.Reason}
		}
		return nil, fmt.Errorf("read event: %w", err)
	}
	return b, nil
}

// Close ends the stream.
func (w *Watcher) Close() error {
	return w.conn.Close(websocket.StatusNormalClosure, "")
}
