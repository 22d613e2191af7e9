package service

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// nudgeTimeout bounds a nudge's Barrier: its hand-over to Raft and its
// commit.
const nudgeTimeout = 2 * time.Second

// nudger makes the followers learn at once that a groups entry committed,
// so that their watchers (blocking reads) wake within a round trip of the
// commit rather than after Raft's CommitTimeout (0.5-1 s: see
// peer/node/node.go). A follower learns the commit index only from an
// AppendEntries that carries an entry; a heartbeat does not carry it. After
// a commit the leader appends a Barrier (an entry the FSM never sees),
// whose AppendEntries carries the commit to every follower. At most one
// Barrier is in flight: commits seen meanwhile ask for one more after it,
// so under load there is about one Barrier per round trip, not one per
// batch. Safe for concurrent use.
type nudger struct {
	raft    *raft.Raft
	mu      sync.Mutex
	running bool // a Barrier is in flight
	again   bool // a commit was seen since that Barrier was appended
}

// committed notes that an entry committed on this leader.
func (n *nudger) committed() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		n.again = true
		return
	}
	n.running = true
	go n.run()
}

// run appends Barriers until no commit asks for one more; each ends with
// its commit, leadership loss, Raft's shutdown or nudgeTimeout.
func (n *nudger) run() {
	for {
		n.raft.Barrier(nudgeTimeout).Error()
		n.mu.Lock()
		if !n.again {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.again = false
		n.mu.Unlock()
	}
}
