package forward

import (
	"encoding/binary"
	"math/rand/v2"
)

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
