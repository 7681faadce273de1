package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
)

// DefaultWriteTimeout bounds the write of one event to a subscriber: a
// peer that reads nothing for this long is disconnected.
const DefaultWriteTimeout = 10 * time.Second

// Close reasons are at most 123 bytes (RFC 6455 §5.5).
const (
	// StatusTooSlow closes a dropped subscriber (1013 Try Again Later).
	StatusTooSlow = websocket.StatusTryAgainLater
	// StatusStopping closes subscribers when the broker stops.
	StatusStopping = websocket.StatusGoingAway
)

// HandlerConfig configures the websocket endpoint.
type HandlerConfig struct {
	Bus *Bus
	// Access returns the filter of what the request's caller may see
	// (nil: everything). It runs once per subscription; the filter runs
	// for every event in the subscriber's goroutine.
	Access func(r *http.Request) func(api.Event) bool
	Logger hclog.Logger // default a null logger
	// WriteTimeout defaults to DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// Handler serves GET /v1/events: it upgrades to a websocket and sends one
// JSON api.Event per text message. Query: since=SEQ replays retained
// events after SEQ; types=a,b keeps those types ("lease.*" a family).
type Handler struct {
	cfg HandlerConfig
	log hclog.Logger
}

// NewHandler returns the endpoint.
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	return &Handler{cfg: cfg, log: cfg.Logger.Named("events")}
}

// query is a parsed GET /v1/events query.
type query struct {
	since uint64
	types []string
}

func parseQuery(r *http.Request) (query, error) {
	var q query
	v := r.URL.Query()
	if s := v.Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: "since must be an event number"}
		}
		q.since = n
	}
	if s := v.Get("types"); s != "" {
		known := api.EventTypes()
		for _, t := range strings.Split(s, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(known, t) && !matchesFamily(known, t) {
				return q, &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest,
					Detail: fmt.Sprintf("unknown event type %q (known: %s)", clip(t), strings.Join(known, ", "))}
			}
			q.types = append(q.types, t)
		}
	}
	return q, nil
}

// matchesFamily reports whether t is "family.*" for a known family.
func matchesFamily(known []string, t string) bool {
	fam, ok := strings.CutSuffix(t, ".*")
	return ok && slices.ContainsFunc(known, func(k string) bool { return strings.HasPrefix(k, fam+".") })
}

func typeMatches(types []string, typ string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if t == typ {
			return true
		}
		if fam, ok := strings.CutSuffix(t, ".*"); ok && strings.HasPrefix(typ, fam+".") {
			return true
		}
	}
	return false
}

// Validate checks the request's query before the upgrade, so that the
// server's one error writer can answer 400.
func (h *Handler) Validate(r *http.Request) error {
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") {
		return &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest,
			Detail: "GET /v1/events is a websocket: send Connection: Upgrade and Upgrade: websocket"}
	}
	_, err := parseQuery(r)
	return err
}

// headerHas reports whether a comma-separated header lists token.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// ServeHTTP upgrades and streams events until the peer leaves, the
// subscriber falls too far behind, or the bus closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil { // Validate ran first in the server; this is a fallback
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var access func(api.Event) bool
	if h.cfg.Access != nil {
		access = h.cfg.Access(r)
	}
	keep := func(ev api.Event) bool {
		return typeMatches(q.types, ev.Type) && (access == nil || access(ev))
	}
	sub, err := h.cfg.Bus.Subscribe(q.since, keep)
	if err != nil {
		http.Error(w, "the broker is stopping", http.StatusServiceUnavailable)
		return
	}
	defer sub.Close()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		h.log.Debug("websocket upgrade failed", "error", err)
		return
	}
	defer conn.CloseNow()
	// The peer sends nothing; CloseRead answers its pings and close frame
	// and cancels ctx when it goes away.
	ctx := conn.CloseRead(r.Context())
	for {
		ev, err := sub.Next(ctx)
		var slow *TooSlowError
		switch {
		case errors.As(err, &slow):
			h.log.Warn("events subscriber dropped", "reason", slow.Error())
			conn.Close(StatusTooSlow, slow.Error())
			return
		case errors.Is(err, ErrClosed):
			conn.Close(StatusStopping, "broker stopping")
			return
		case err != nil:
			return // the peer left
		}
		b, err := json.Marshal(ev)
		if err != nil {
			h.log.Error("cannot encode event", "type", ev.Type, "error", err)
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
		err = conn.Write(wctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			h.log.Debug("events subscriber write failed", "error", err)
			return
		}
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
