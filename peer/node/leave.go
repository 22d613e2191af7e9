package node

import (
	"errors"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/reconcile"
	"roster/peer/viewlog"
)

// A graceful leave (SIGTERM, Ctrl-C, docker stop or restart) hands over
// what only this peer holds before it goes:
//
//  1. A leader stops its reconcile loop, makes sure another member votes
//     (a two-member group has one voter, the leader: without this, the
//     other member could never commit anything again, as after a crash of
//     the voter), and transfers leadership.
//  2. It announces its leave through memberlist, so the leader removes it
//     at once rather than after a failure detection.
//  3. It waits until the view that removes it has committed and it no
//     longer votes (both may need this peer's vote) before it stops. A
//     peer that goes while the configuration still counts it as a voter
//     leaves the others a quorum short: with one more member down they
//     stall until it comes back. If it is elected leader meanwhile (the
//     leader crashed during the leave), it hands its leadership over again,
//     so that the next leader finishes its removal.
//
// A leaving peer takes no leader steps: its reconcile loop stops first.
// Each step is bounded by the leave's timeout.

// Leave leaves the group gracefully within timeout, then stops the peer.
func (n *Node) Leave(timeout time.Duration) {
	n.printer.message(viewlog.Leaving, true)
	deadline := time.Now().Add(timeout)
	if n.raft != nil && n.raft.State() == raft.Leader && !n.alone(deadline) {
		n.handOver(deadline)
	} else {
		n.stopReconcile(deadline)
	}
	if n.det != nil {
		if err := n.det.Leave(time.Until(deadline)); err != nil {
			n.log.Info("leave", "error", err)
		}
		n.awaitRemoval(deadline)
	}
	n.stop(0)
}

// errLeaveTimeout says a step of the leave ran out of time.
var errLeaveTimeout = errors.New("leave timed out")

// await waits for f until deadline. The goroutine that waits ends when Raft
// answers f (it does, on success, leadership loss or shutdown).
func await(f raft.Future, deadline time.Time) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errLeaveTimeout
	}
}

// handOver runs on a leaving leader: it stops its reconcile loop, promotes
// another member if no other voter exists, and transfers leadership.
func (n *Node) handOver(deadline time.Time) {
	n.stopReconcile(deadline)
	cf := n.raft.GetConfiguration()
	if err := await(cf, deadline); err != nil {
		n.log.Info("no hand-over before leaving", "error", err)
		return
	}
	self := reconcile.ServerID(n.cfg.Self.ID)
	view := n.fsm.View()
	var target *raft.Server
	best := 0
	for _, srv := range cf.Configuration().Servers {
		if srv.ID == self {
			continue
		}
		if srv.Suffrage == raft.Voter {
			target = nil // another peer votes already
			break
		}
		if id, err := strconv.Atoi(string(srv.ID)); err == nil && view.Contains(id) && (target == nil || id < best) {
			s := srv
			target, best = &s, id
		}
	}
	if target != nil {
		// The only voter is this peer: give another member the vote.
		if err := await(n.raft.AddVoter(target.ID, target.Address, 0, time.Until(deadline)), deadline); err != nil {
			n.log.Info("no voter to hand over to before leaving", "peer", target.ID, "error", err)
		}
	}
	if err := await(n.raft.LeadershipTransfer(), deadline); err != nil {
		n.log.Info("no leadership transfer before leaving", "error", err)
	}
}

// stopReconcile stops the reconcile loop and waits (until deadline) for it
// to end, so that it takes no step behind the hand-over.
func (n *Node) stopReconcile(deadline time.Time) {
	if n.stopLoop == nil {
		return
	}
	n.stopLoop()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-n.loopDone:
	case <-t.C:
	}
}

// removalPoll is how often a leaving peer looks for the view removing it.
const removalPoll = 10 * time.Millisecond

// awaitRemoval waits until this peer holds a committed view without its
// life and the latest Raft configuration has it no longer as a voter, until
// Raft stops (a removed server's Raft shuts down), or until deadline. Elected
// leader meanwhile, it hands over.
func (n *Node) awaitRemoval(deadline time.Time) {
	if n.raft == nil {
		return
	}
	t := time.NewTicker(removalPoll)
	defer t.Stop()
	for time.Now().Before(deadline) && n.raft.State() != raft.Shutdown {
		if n.raft.State() == raft.Leader {
			if n.alone(deadline) {
				return // nobody to hand over to, and nobody to remove it
			}
			n.log.Info("elected leader while leaving: handing over")
			n.handOver(deadline)
		}
		if !n.fsm.View().HasLife(n.cfg.Self.ID, n.life) && !n.votes(deadline) {
			return
		}
		<-t.C
	}
}

// alone reports whether the latest Raft configuration holds no server but
// this peer: a group of one, whose leave has nothing to wait for.
func (n *Node) alone(deadline time.Time) bool {
	cf := n.raft.GetConfiguration()
	if err := await(cf, deadline); err != nil {
		return false
	}
	servers := cf.Configuration().Servers
	return len(servers) == 1 && servers[0].ID == reconcile.ServerID(n.cfg.Self.ID)
}

// votes reports whether the latest Raft configuration (committed or not)
// has this peer as a voter; false when Raft does not answer by deadline.
func (n *Node) votes(deadline time.Time) bool {
	cf := n.raft.GetConfiguration()
	if err := await(cf, deadline); err != nil {
		return false
	}
	self := reconcile.ServerID(n.cfg.Self.ID)
	for _, srv := range cf.Configuration().Servers {
		if srv.ID == self {
			return srv.Suffrage == raft.Voter
		}
	}
	return false
}
