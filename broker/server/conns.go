package server

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/awf-broker/awf-broker/broker/peer"
)

// conns counts each uid's open connections for the connections_per_uid
// quota. A connection is counted from accept until it closes or is
// hijacked (an events websocket: the subscriber quota covers it then).
type conns struct {
	mu   sync.Mutex
	open map[uint32]int
	uids map[net.Conn]uint32
}

func newConns() *conns {
	return &conns{open: map[uint32]int{}, uids: map[net.Conn]uint32{}}
}

type overQuotaKey struct{}

// accept counts c for cred's uid and asks admit whether it may stay; a
// refused connection is still counted (it is open) and carries the
// refusal in its context, so every request on it is answered with that
// refusal and the connection is closed.
func (cs *conns) accept(ctx context.Context, c net.Conn, cred peer.Cred, admit func(peer.Cred, int) error) context.Context {
	cs.mu.Lock()
	n := cs.open[cred.UID]
	cs.open[cred.UID] = n + 1
	cs.uids[c] = cred.UID
	cs.mu.Unlock()
	if err := admit(cred, n); err != nil {
		return context.WithValue(ctx, overQuotaKey{}, err)
	}
	return ctx
}

// state is the http.Server's ConnState hook: it uncounts a connection
// that ended or was hijacked.
func (cs *conns) state(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	uid, ok := cs.uids[c]
	if !ok {
		return
	}
	delete(cs.uids, c)
	if cs.open[uid]--; cs.open[uid] <= 0 {
		delete(cs.open, uid)
	}
}

// overQuota returns the refusal of a connection past its uid's quota.
func overQuota(ctx context.Context) error {
	err, _ := ctx.Value(overQuotaKey{}).(error)
	return err
}
