package forward

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

var (
	// errReplaced ends an attempt's body once a newer attempt has taken it over.
	errReplaced = errors.New("request body taken over by a newer attempt")
	// errBodyDone ends a body read after the request was answered.
	errBodyDone = errors.New("request already answered")
)

// teeBody streams a request body upstream as the client uploads it and
// keeps a copy of what passed (up to MaxReplayBody), so that the body can
// be sent again: by the transport, on a stale keep-alive connection or a
// refused HTTP/2 stream (Request.GetBody), and by the replay a
// stale-credential answer calls for. Every attempt reads through the same
// kind of reader: the copy first, then the rest of the client's body,
// appended to the copy as it passes. The newest attempt takes the body
// over; older ones get errReplaced.
type teeBody struct {
	src io.Reader
	f   *Forwarder

	// mu is held across reads of src (the transport may still read after
	// RoundTrip returns) and guards every access to kept, which is only
	// ever copied out under it: kept can go back to the pool at release.
	mu       sync.Mutex
	kept     *[]byte // pooled; nil before the first attempt and once dropped or released
	dropped  bool    // the body outgrew MaxReplayBody: it cannot be sent again
	eof      bool    // src is exhausted
	srcErr   error   // src failed (the client went away)
	gen      int     // the newest attempt's number
	released bool    // the handler is done with the body
}

// attempt returns the body of the next attempt, which supersedes every
// earlier one, or an error when the body cannot be sent (again).
func (t *teeBody) attempt() (io.ReadCloser, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.unsendable(); err != nil {
		return nil, err
	}
	if t.kept == nil {
		t.kept = t.f.getBodyBuf()
	}
	t.gen++
	return &teeReader{t: t, gen: t.gen}, nil
}

// unsendable is why the whole body cannot be sent by a new attempt, or nil.
// The caller holds mu.
func (t *teeBody) unsendable() error {
	switch {
	case t.srcErr != nil:
		return fmt.Errorf("cannot read the request body: %w", t.srcErr)
	case t.released:
		return errBodyDone
	case t.dropped:
		return fmt.Errorf("request body exceeds %d bytes, the most the forwarder keeps to send again", MaxReplayBody)
	}
	return nil
}

// replayable reports whether a new attempt could send the whole body.
func (t *teeBody) replayable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unsendable() == nil
}

// clientErr is why reading the client's body failed, if it did.
func (t *teeBody) clientErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.srcErr
}

// read is attempt gen's Read at offset off: the copy from off, then src.
func (t *teeBody) read(gen int, off int64, p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.released:
		return 0, errBodyDone
	case gen != t.gen:
		return 0, errReplaced
	case t.kept != nil && off < int64(len(*t.kept)):
		return copy(p, (*t.kept)[off:]), nil
	case t.srcErr != nil:
		return 0, t.srcErr
	case t.eof:
		return 0, io.EOF
	}
	// Here off is all that passed: this attempt read the copy, and once
	// the copy is dropped no new attempt starts.
	n, err := t.src.Read(p)
	if n > 0 && t.kept != nil {
		if len(*t.kept)+n > MaxReplayBody {
			t.f.putBodyBuf(t.kept)
			t.kept, t.dropped = nil, true
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

// release records that the handler is done with the body and returns the
// copy to the pool; a late read by the transport fails.
func (t *teeBody) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.released = true
	if t.kept != nil {
		t.f.putBodyBuf(t.kept)
		t.kept = nil
	}
}

// teeReader is one attempt's body.
type teeReader struct {
	t   *teeBody
	gen int
	off int64
}

func (r *teeReader) Read(p []byte) (int, error) {
	n, err := r.t.read(r.gen, r.off, p)
	r.off += int64(n)
	return n, err
}

func (r *teeReader) Close() error { return nil }
