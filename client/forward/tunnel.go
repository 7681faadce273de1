package forward

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// closeGrace is how long a stopping tunnel waits for the upstream to answer
// its close frame before cutting both connections.
const closeGrace = time.Second

// closeGoingAway is the WebSocket close code sent to both ends when the
// forwarder stops (RFC 6455 §7.4.1, 1001 "going away").
const closeGoingAway = 1001

// tunnel is one spliced WebSocket: the client's hijacked connection and the
// upstream's. It copies bytes through unchanged but follows the frame
// boundaries, so that stopping it can end each side with a close frame
// rather than a cut in the middle of a frame.
type tunnel struct {
	client   net.Conn
	clientR  io.Reader // the client's bytes, including any buffered at the handshake
	up       io.ReadWriteCloser
	toUp     pump          // client → upstream (frames masked, RFC 6455 §5.3)
	toClient pump          // upstream → client
	done     chan struct{} // closed when run has returned
	stopping chan struct{} // closed when stop begins
	stopped  chan struct{} // closed when stop has closed both connections
	stopOnce sync.Once
}

// pump is one direction of a tunnel.
type pump struct {
	mu      sync.Mutex // held while writing a chunk, and by stop
	frames  frameTracker
	stopped bool // stop took over this direction's writes
	ended   chan struct{}
}

func newTunnel(client net.Conn, clientR io.Reader, up io.ReadWriteCloser) *tunnel {
	return &tunnel{
		client: client, clientR: clientR, up: up,
		done: make(chan struct{}), stopping: make(chan struct{}), stopped: make(chan struct{}),
		toUp: pump{ended: make(chan struct{})}, toClient: pump{ended: make(chan struct{})},
	}
}

// run copies both ways until either side closes, then closes both; when
// stop is under way it leaves the closing to stop.
func (t *tunnel) run() {
	defer close(t.done)
	go t.toUp.copy(t.up, t.clientR)
	go t.toClient.copy(t.client, t.up)
	select {
	case <-t.toUp.ended:
	case <-t.toClient.ended:
	case <-t.stopping:
	}
	select {
	case <-t.stopping:
		<-t.stopped
	default:
		_ = t.client.Close()
		_ = t.up.Close()
	}
	<-t.toUp.ended
	<-t.toClient.ended
}

// copy relays src to dst chunk by chunk until either fails, keeping track
// of frame boundaries; after stop it discards what it reads.
func (p *pump) copy(dst io.Writer, src io.Reader) {
	defer close(p.ended)
	buf := make([]byte, copyBufSize)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if !p.stopped {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					p.mu.Unlock()
					return
				}
				p.frames.feed(buf[:n])
			}
			p.mu.Unlock()
		}
		if rerr != nil {
			return
		}
	}
}

// finish takes over p's writes and, if p stands between frames, sends dst
// a close frame (masked toward the upstream).
func (p *pump) finish(dst io.Writer, masked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if p.frames.atBoundary() {
		_, _ = dst.Write(closeFrame(closeGoingAway, "forwarder shutting down", masked))
	}
}

// stop ends the tunnel cleanly: a close frame to each side that stands
// between frames, up to closeGrace for the upstream to answer, then both
// connections closed. It returns once run has returned.
func (t *tunnel) stop() {
	t.stopOnce.Do(func() {
		close(t.stopping)
		// Stop reading the client, so that no frame toward the upstream
		// is cut in half by our own close frame.
		_ = t.client.SetReadDeadline(time.Now())
		_ = t.client.SetWriteDeadline(time.Now().Add(closeGrace))
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			<-t.toUp.ended
			t.toUp.finish(t.up, true)
			t.toClient.finish(t.client, false)
		}()
		timer := time.NewTimer(closeGrace)
		select {
		case <-t.toClient.ended: // the upstream closed after our close frame
		case <-timer.C:
		}
		timer.Stop()
		_ = t.client.Close()
		_ = t.up.Close()
		<-finished
		close(t.stopped)
	})
	<-t.done
}

// closeFrame builds a WebSocket close frame with code and reason (short:
// a control frame's payload is at most 125 bytes).
func closeFrame(code uint16, reason string, masked bool) []byte {
	payload := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(payload, code)
	copy(payload[2:], reason)
	f := []byte{0x88, byte(len(payload))}
	if masked {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], rand.Uint32())
		f[1] |= 0x80
		f = append(f, key[:]...)
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return append(f, payload...)
}

// frameTracker follows WebSocket frame boundaries in a byte stream
// (RFC 6455 §5.2) without keeping the payload.
type frameTracker struct {
	hdr  [14]byte
	n    int    // header bytes seen of the current frame
	need int    // header length, once its second byte is known
	left uint64 // payload bytes still to come
}

// atBoundary reports whether the bytes fed so far end on a frame boundary.
func (ft *frameTracker) atBoundary() bool { return ft.n == 0 && ft.left == 0 }

// feed advances over p.
func (ft *frameTracker) feed(p []byte) {
	for len(p) > 0 {
		if ft.left > 0 {
			k := min(uint64(len(p)), ft.left)
			ft.left -= k
			p = p[k:]
			continue
		}
		ft.hdr[ft.n] = p[0]
		ft.n++
		p = p[1:]
		if ft.n == 2 {
			ft.need = 2
			switch ft.hdr[1] & 0x7f {
			case 126:
				ft.need += 2
			case 127:
				ft.need += 8
			}
			if ft.hdr[1]&0x80 != 0 {
				ft.need += 4
			}
		}
		if ft.n >= 2 && ft.n == ft.need {
			switch l := ft.hdr[1] & 0x7f; l {
			case 126:
				ft.left = uint64(binary.BigEndian.Uint16(ft.hdr[2:4]))
			case 127:
				ft.left = binary.BigEndian.Uint64(ft.hdr[2:10])
			default:
				ft.left = uint64(l)
			}
			ft.n, ft.need = 0, 0
		}
	}
}

// tunnels are the open WebSockets of a forwarder, stopped together on Close.
type tunnels struct {
	mu     sync.Mutex
	open   map[*tunnel]struct{}
	closed bool
}

// add registers t; it reports false once the forwarder is closing.
func (ts *tunnels) add(t *tunnel) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.closed {
		return false
	}
	if ts.open == nil {
		ts.open = map[*tunnel]struct{}{}
	}
	ts.open[t] = struct{}{}
	return true
}

func (ts *tunnels) remove(t *tunnel) {
	ts.mu.Lock()
	delete(ts.open, t)
	ts.mu.Unlock()
}

// count is how many tunnels are open.
func (ts *tunnels) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.open)
}

// closeAll refuses new tunnels and stops every open one, in parallel.
func (ts *tunnels) closeAll() {
	ts.mu.Lock()
	ts.closed = true
	open := make([]*tunnel, 0, len(ts.open))
	for t := range ts.open {
		open = append(open, t)
	}
	ts.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range open {
		wg.Add(1)
		go func() { defer wg.Done(); t.stop() }()
	}
	wg.Wait()
}
