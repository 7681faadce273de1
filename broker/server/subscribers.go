package server

import (
	"sync"

	"github.com/awf-broker/awf-broker/broker/peer"
)

// subscribers counts each uid's open GET /v1/events streams for the
// subscribers_per_uid quota.
type subscribers struct {
	mu   sync.Mutex
	open map[uint32]int
}

func newSubscribers() *subscribers { return &subscribers{open: map[uint32]int{}} }

// add counts one more stream of c's uid unless admit refuses it, and
// returns the function that uncounts it.
func (ss *subscribers) add(c peer.Cred, admit func(peer.Cred, int) error) (done func(), err error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if err := admit(c, ss.open[c.UID]); err != nil {
		return nil, err
	}
	ss.open[c.UID]++
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if ss.open[c.UID]--; ss.open[c.UID] <= 0 {
			delete(ss.open, c.UID)
		}
	}, nil
}
