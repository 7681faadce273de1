package forward

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// emptySHA256 is the hex SHA-256 of an empty body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// pooledBodyCap is the largest buffer returned to the pool; bigger ones are
// left to the garbage collector so the forwarder's memory stays small.
const pooledBodyCap = 256 << 10

// reqBody is an inbound request body prepared for the upstream: kept in
// memory before it is sent (hashed for SigV4), streamed upstream while a
// copy is kept to send it again (tee), or streamed through once (too big
// to keep).
type reqBody struct {
	kept   *[]byte // pooled buffer holding the whole body, nil when streaming
	data   []byte
	stream io.Reader // the body when not kept in full
	tee    *teeBody  // the body streamed with a copy kept, or nil
	size   int64     // Content-Length to send; -1 unknown
	sum    string    // hex SHA-256, only when asked for
	// readers lent to the transport; the buffer returns to the pool only
	// when every one has been closed (the transport may read after
	// RoundTrip returns).
	lent, closed atomic.Int32
}

// replayable reports whether the request can be sent again after a 401.
func (b *reqBody) replayable() bool {
	if b.tee != nil {
		return b.tee.replayable()
	}
	return b.stream == nil && len(b.data) <= MaxReplayBody
}

// clientErr is why reading the client's body failed while it streamed
// upstream, if it did.
func (b *reqBody) clientErr() error {
	if b.tee != nil {
		return b.tee.clientErr()
	}
	return nil
}

// readBody prepares r's body. Unhashed, nothing is read yet: a body up to
// MaxReplayBody (or of unknown length) streams upstream with a copy kept
// for sending it again, a larger one streams through once. Hashed (SigV4),
// it is read in full, up to MaxHashedBody (413 beyond), and its SHA-256
// computed before anything is sent.
func (f *Forwarder) readBody(r *http.Request, hash bool) (*reqBody, *failure) {
	b := &reqBody{}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		if hash {
			b.sum = emptySHA256
		}
		return b, nil
	}
	if !hash {
		b.size = r.ContentLength
		if r.ContentLength > MaxReplayBody {
			b.stream = r.Body
		} else {
			b.tee = &teeBody{src: r.Body, f: f}
		}
		return b, nil
	}
	if r.ContentLength > MaxHashedBody {
		return nil, fail(http.StatusRequestEntityTooLarge, tooLargeMsg())
	}
	b.kept = f.getBodyBuf()
	buf := (*b.kept)[:0]
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength+1 {
		buf = make([]byte, 0, r.ContentLength+1)
	}
	buf, err := readUpTo(buf, r.Body, MaxHashedBody+1)
	*b.kept = buf
	if err != nil {
		f.putBodyBuf(b.kept)
		return nil, fail(http.StatusBadRequest, "cannot read the request body: "+err.Error())
	}
	if len(buf) > MaxHashedBody {
		f.putBodyBuf(b.kept)
		return nil, fail(http.StatusRequestEntityTooLarge, tooLargeMsg())
	}
	b.data, b.size = buf, int64(len(buf))
	sum := sha256.Sum256(buf)
	b.sum = hex.EncodeToString(sum[:])
	return b, nil
}

func tooLargeMsg() string {
	return "request body exceeds " + strconv.Itoa(MaxHashedBody>>20) + " MiB, the most the forwarder buffers to sign"
}

// readUpTo appends from r to buf until EOF or until buf holds max bytes.
func readUpTo(buf []byte, r io.Reader, max int64) ([]byte, error) {
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if int64(len(room)) > max-int64(len(buf)) {
			room = room[:max-int64(len(buf))]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// reader returns a reader over the whole body for one upstream attempt,
// or an error when the body cannot be sent (again).
func (b *reqBody) reader() (io.ReadCloser, error) {
	if b.tee != nil {
		return b.tee.attempt()
	}
	if b.stream != nil {
		return io.NopCloser(b.stream), nil
	}
	b.lent.Add(1)
	return &keptReader{Reader: bytes.NewReader(b.data), body: b}, nil
}

// releaseBody returns the buffer to the pool when no reader is still lent.
func (f *Forwarder) releaseBody(b *reqBody) {
	if b != nil && b.tee != nil {
		b.tee.release()
		return
	}
	if b == nil || b.kept == nil || b.lent.Load() != b.closed.Load() {
		return
	}
	*b.kept = (*b.kept)[:0]
	f.putBodyBuf(b.kept)
	b.kept, b.data = nil, nil
}

type keptReader struct {
	*bytes.Reader
	body   *reqBody
	closed atomic.Bool
}

func (k *keptReader) Close() error {
	if !k.closed.Swap(true) {
		k.body.closed.Add(1)
	}
	return nil
}

func (f *Forwarder) getBodyBuf() *[]byte {
	if p, ok := f.bodies.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

func (f *Forwarder) putBodyBuf(p *[]byte) {
	if cap(*p) <= pooledBodyCap {
		*p = (*p)[:0]
		f.bodies.Put(p)
	}
}
