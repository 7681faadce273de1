package forward

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// errReplaced ends the first attempt's body once the replay has taken it over.
var errReplaced = errors.New("request body taken over by the replay")

// teeBody streams a request body upstream as the client uploads it and
// keeps a copy of what passed (up to MaxReplayBody) for the one replay a
// stale-credential answer calls for. The replay takes over: it sends the
// copy, then whatever the first attempt had not read yet.
type teeBody struct {
	src io.Reader
	f   *Forwarder

	mu       sync.Mutex // held across reads of src: the transport may still read after RoundTrip returns
	kept     *[]byte    // pooled; nil once the body outgrew MaxReplayBody
	eof      bool       // src is exhausted
	srcErr   error      // src failed (the client went away)
	replaced bool       // the replay took the body over
	lent     int        // readers handed out and not closed
	released bool       // the handler is done; the last Close returns kept
}

// next is the reader of the next attempt: the tee itself first, then the
// replay's copy-then-rest.
func (t *teeBody) next() io.ReadCloser {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lent++
	if !t.replaced && t.kept == nil && !t.eof && t.srcErr == nil && t.lent == 1 {
		t.kept = t.f.getBodyBuf()
		return &teeReader{t: t}
	}
	t.replaced = true
	var copied []byte
	if t.kept != nil {
		copied = *t.kept
	}
	var rest io.Reader = eofReader{}
	if !t.eof {
		rest = t.src
	}
	return &replayReader{Reader: io.MultiReader(bytes.NewReader(copied), rest), t: t}
}

// replayable reports whether a replay could send the whole body again.
func (t *teeBody) replayable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.srcErr == nil && (t.kept != nil || t.lent == 0)
}

// clientErr is why reading the client's body failed, if it did.
func (t *teeBody) clientErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.srcErr
}

// read is the first attempt's Read: from src, copying what passes.
func (t *teeBody) read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.replaced {
		return 0, errReplaced
	}
	if t.eof {
		return 0, io.EOF
	}
	n, err := t.src.Read(p)
	if n > 0 && t.kept != nil {
		if len(*t.kept)+n > MaxReplayBody {
			t.f.putBodyBuf(t.kept) // no reader of the copy exists yet
			t.kept = nil
		} else {
			*t.kept = append(*t.kept, p[:n]...)
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		t.eof = true
	case err != nil:
		t.srcErr = err
	}
	return n, err
}

// done records that a reader was closed and returns the copy to the pool
// once nothing can read it.
func (t *teeBody) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lent--
	t.recycle()
}

// release records that the handler is finished with the body.
func (t *teeBody) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.released = true
	t.recycle()
}

func (t *teeBody) recycle() {
	if t.released && t.lent == 0 && t.kept != nil {
		t.f.putBodyBuf(t.kept)
		t.kept = nil
	}
}

// teeReader is the first attempt's body.
type teeReader struct {
	t      *teeBody
	closed sync.Once
}

func (r *teeReader) Read(p []byte) (int, error) { return r.t.read(p) }

func (r *teeReader) Close() error {
	r.closed.Do(r.t.done)
	return nil
}

// replayReader is the replay's body: the copy, then the rest of src.
type replayReader struct {
	io.Reader
	t      *teeBody
	closed sync.Once
}

func (r *replayReader) Close() error {
	r.closed.Do(r.t.done)
	return nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
