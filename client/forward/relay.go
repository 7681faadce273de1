package forward

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// copyBufSize is the size of the buffers response bodies are relayed through.
const copyBufSize = 32 << 10

// relay writes the upstream response to w: status, headers and body
// unchanged, each chunk flushed as soon as it arrives (SSE, event streams).
// If the upstream body fails midway the response is aborted, so the client
// sees a truncated response rather than a complete-looking one.
func (f *Forwarder) relay(ctx context.Context, w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	h := w.Header()
	copyResponseHeaders(h, resp.Header)
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)

	flush := flusher(w)
	bp := f.getCopyBuf()
	defer f.copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away; closing the body cancels upstream
			}
			if rerr == nil {
				flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return // the client went away
			}
			if !errors.Is(rerr, http.ErrBodyReadAfterClose) {
				f.log.Warn("upstream response body failed midway", "status", resp.StatusCode, "error", rerr)
			}
			panic(http.ErrAbortHandler)
		}
	}
	for k, vs := range resp.Trailer {
		h[http.TrailerPrefix+k] = vs
	}
}

// flusher returns how to flush w, looking through wrappers.
func flusher(w http.ResponseWriter) func() {
	if fl, ok := w.(http.Flusher); ok {
		return fl.Flush
	}
	rc := http.NewResponseController(w)
	return func() { _ = rc.Flush() }
}

func (f *Forwarder) getCopyBuf() *[]byte {
	if p, ok := f.copyBufs.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, copyBufSize)
	return &b
}
