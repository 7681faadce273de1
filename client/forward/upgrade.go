package forward

import (
	"bufio"
	"encoding/base64"
	"io"
	"net/http"
	"strings"

	"github.com/awf-broker/awf-broker/api"
)

// isWebSocketUpgrade reports whether h asks to switch an HTTP/1.1
// connection to WebSocket (RFC 6455 §4.1): Upgrade: websocket and a
// Connection header listing "upgrade".
func isWebSocketUpgrade(h http.Header) bool {
	up := h["Upgrade"]
	if len(up) == 0 || !strings.EqualFold(strings.TrimSpace(up[0]), "websocket") {
		return false
	}
	for _, v := range h["Connection"] {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}

// checkWebSocketKey refuses a handshake whose Sec-WebSocket-Key is missing
// or is not the base64 of 16 bytes (RFC 6455 §4.1, item 7): the upstream
// would refuse it too, after the broker had been asked for headers.
func checkWebSocketKey(h http.Header) *failure {
	keys := h["Sec-Websocket-Key"]
	if len(keys) == 0 || keys[0] == "" {
		return fail(http.StatusBadRequest, "WebSocket upgrade without a Sec-WebSocket-Key header (RFC 6455 §4.1)")
	}
	if len(keys) > 1 {
		return fail(http.StatusBadRequest, "WebSocket upgrade with more than one Sec-WebSocket-Key header")
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(b) != 16 {
		return fail(http.StatusBadRequest, "Sec-WebSocket-Key is not the base64 encoding of 16 bytes (RFC 6455 §4.1)")
	}
	return nil
}

// serveUpgrade authorizes a WebSocket handshake like any request (headers
// granted for its method and URL, the agent's credentials stripped),
// forwards it, and once the upstream switches protocols splices the two
// connections until either side closes or the forwarder stops. An answer
// other than 101 (e.g. the upstream's 401) is relayed as it is.
func (f *Forwarder) serveUpgrade(w http.ResponseWriter, r *http.Request, t *target) {
	ctx := r.Context()
	if r.ProtoMajor != 1 || r.Method != http.MethodGet {
		writeFailure(w, f.provider, fail(http.StatusBadRequest, "a WebSocket upgrade must be an HTTP/1.1 GET"))
		return
	}
	if fl := checkWebSocketKey(r.Header); fl != nil {
		writeFailure(w, f.provider, fl)
		return
	}
	s, budget, fl := f.awaitLease(ctx)
	if fl != nil {
		f.refuse(w, r, fl)
		return
	}
	if s.needsSHA {
		writeFailure(w, f.provider, fail(http.StatusNotImplemented,
			"WebSocket upgrades are not supported for credentials signed with AWS SigV4; the request was not sent upstream"))
		return
	}
	body := &reqBody{}
	hreq := api.HeadersRequest{Method: r.Method, URL: t.abs}
	out, s, fl := f.prepare(ctx, r, t, body, s, &hreq, budget)
	if fl != nil {
		f.refuse(w, r, fl)
		return
	}
	// The tunnel outlives nothing but the handler; the request's context
	// ends with it, and the tunnel closes the upstream itself.
	resp, err := f.transport.RoundTrip(out)
	if err == nil && f.mustReplay(resp, s.needsSHA) {
		resp, err = f.retryUnauthorized(ctx, r, t, body, s, &hreq, resp)
	}
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("upstream websocket handshake failed", "path", t.url.Path, "error", err)
			writeFailure(w, f.provider, fail(http.StatusBadGateway, "upstream request failed: "+err.Error()))
		}
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		f.log.Info("upstream refused the websocket upgrade", "path", t.url.Path, "status", resp.StatusCode)
		f.relay(ctx, w, resp)
		return
	}
	f.splice(w, resp, t)
}

// splice takes over the client's connection, answers it the upstream's
// 101, and copies frames both ways until either side closes.
func (f *Forwarder) splice(w http.ResponseWriter, resp *http.Response, t *target) {
	up, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		_ = resp.Body.Close()
		f.log.Error("upstream switched protocols without a writable connection", "path", t.url.Path)
		writeFailure(w, f.provider, fail(http.StatusBadGateway, "upstream switched protocols but its connection cannot be written"))
		return
	}
	if f.tunnels.closing() {
		_ = up.Close()
		writeFailure(w, f.provider, fail(http.StatusServiceUnavailable, "the forwarder is shutting down"))
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = up.Close()
		f.log.Error("cannot take over the client connection for a websocket", "error", err)
		writeFailure(w, f.provider, fail(http.StatusInternalServerError, "cannot take over the connection for the WebSocket: "+err.Error()))
		return
	}
	h := make(http.Header, len(resp.Header))
	copyResponseHeaders(h, resp.Header)
	h["Connection"] = []string{"Upgrade"}
	h["Upgrade"] = resp.Header["Upgrade"]
	if err := writeSwitching(brw.Writer, h); err != nil {
		_ = up.Close()
		_ = conn.Close()
		f.log.Info("client went away during the websocket handshake", "error", err)
		return
	}
	var client io.Reader = conn
	if brw.Reader.Buffered() > 0 {
		// Frames the client sent right behind its handshake.
		client = io.MultiReader(io.LimitReader(brw.Reader, int64(brw.Reader.Buffered())), conn)
	}
	tn := newTunnel(conn, client, up)
	if !f.tunnels.add(tn) {
		_ = conn.Close()
		_ = up.Close()
		return
	}
	defer f.tunnels.remove(tn)
	f.log.Debug("websocket open", "path", t.url.Path)
	tn.run()
	f.log.Debug("websocket closed", "path", t.url.Path)
}

// writeSwitching writes a 101 answer with h to w and flushes it.
func writeSwitching(w *bufio.Writer, h http.Header) error {
	if _, err := io.WriteString(w, "HTTP/1.1 101 Switching Protocols\r\n"); err != nil {
		return err
	}
	if err := h.Write(w); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\r\n"); err != nil {
		return err
	}
	return w.Flush()
}

// subprotocolKeyPrefix marks a WebSocket subprotocol that carries an API
// key: browsers cannot set Authorization on a WebSocket, so OpenAI's
// Realtime API also takes the key as "openai-insecure-api-key.<key>" in
// Sec-WebSocket-Protocol.
const subprotocolKeyPrefix = "openai-insecure-api-key."

// stripSubprotocolKeys removes the agent's key from Sec-WebSocket-Protocol
// in h and in want (the broker's view), keeping the other subprotocols it
// offers; the header goes when none is left.
func stripSubprotocolKeys(h http.Header, want map[string]string) {
	vs := h["Sec-Websocket-Protocol"]
	if len(vs) == 0 {
		return
	}
	var keep []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" && !hasPrefixFold(p, subprotocolKeyPrefix) {
				keep = append(keep, p)
			}
		}
	}
	if len(keep) == 0 {
		delete(h, "Sec-Websocket-Protocol")
		delete(want, "sec-websocket-protocol")
		return
	}
	v := strings.Join(keep, ", ")
	h["Sec-Websocket-Protocol"] = []string{v}
	want["sec-websocket-protocol"] = v
}
