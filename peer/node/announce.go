package node

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// Followers learn that an entry committed from the leader's next
// AppendEntries, which Raft sends when a new entry is appended, or when
// nothing happened for its CommitTimeout. So that every peer installs a view
// right after the leader does, whatever CommitTimeout is, the leader appends
// a barrier (an empty entry) once it has applied a view: its AppendEntries
// carries the view's commit. The barrier costs one log entry per view.

// announceTimeout bounds how long the announcer waits to hand a barrier to
// Raft (it never waits for the barrier itself).
const announceTimeout = time.Second

// viewApplied is called from the FSM goroutine after each installed view:
// on the leader it asks the announcer for a barrier. It never blocks.
func (n *Node) viewApplied() {
	if r := n.raftRunning.Load(); r == nil || r.State() != raft.Leader {
		return
	}
	select {
	case n.announce <- struct{}{}:
	default: // one is pending: it will carry this commit too
	}
}

// announceCommits appends a barrier for each request of viewApplied, until
// ctx is done. It does not wait for the barriers: Raft drops the futures of
// entries it never processed when it shuts down.
func (n *Node) announceCommits(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.announce:
			if n.raft.State() == raft.Leader {
				n.raft.Barrier(announceTimeout)
			}
		}
	}
}
