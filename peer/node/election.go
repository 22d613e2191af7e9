package node

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/reconcile"
)

// How a follower finds that its leader is gone, and stands for election
// without waiting for Raft's own timeout.
//
// Raft's timeouts are long (raftConfig: a heartbeat every 0.5-1 s, an
// election 5-10 s after the last one): each heartbeat wakes the leader and
// a follower, and an idle cluster should cost next to nothing. Crashes are
// found faster by other means: a Raft connection the crashed peer's kernel
// closed (tether.go) or a failed heartbeat starts a direct check (detector:
// about 0.9 s to confirm a crash); silence from the leader for leaderSilence
// starts one too. When the check confirms the leader down, the surviving
// voters stand one after the other, lowest id first, standStagger apart,
// each only while no leader has been heard from since.
//
// A follower cannot just start an election: Raft starts one only at its
// heartbeat timeout, and the other voters refuse to vote while they still
// follow a leader. So a voter stands the way a leadership transfer makes
// one stand: it delivers its own Raft a TimeoutNow request (standNow). Raft
// becomes a candidate at once and its vote requests carry the transfer
// flag, which the other voters honour although they still follow the
// crashed leader. Such a candidacy skips Raft's pre-vote, which is what
// keeps a peer cut off from the majority from disrupting it with a higher
// term when it comes back; so a voter stands only when a quorum of voters,
// itself included, answers its direct pings.
const (
	// leaderSilence is how long a follower waits for the leader's
	// heartbeats before it checks the leader directly: a heartbeat and a
	// half at the slowest. A late heartbeat costs a check the leader
	// refutes with one ping (detector.Check).
	leaderSilence = 1500 * time.Millisecond
	// standStagger separates the candidacies of two voters, by their rank
	// among the voters that answer: enough for one election on a LAN, so
	// that two candidates rarely split the vote.
	standStagger = 250 * time.Millisecond
)

// watchHeartbeats asks failure detection for a direct check of a peer Raft
// suspects: on the leader, any peer its heartbeats fail to reach; on a
// follower, the leader it stopped hearing from (silent for leaderSilence, or
// lost by Raft). A follower whose leader was confirmed down stands for
// election (stand). A follower without a leader for other reasons (a
// leader that stepped down, a cluster restarted whole) waits for Raft's own
// election, whose pre-vote no voter that still hears from a live leader
// grants: a peer restarted at a new address hears from nobody until the
// leader re-adds it there, and must not depose that leader.
func (n *Node) watchHeartbeats(ctx context.Context) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.LeaderObservation:
			return true
		}
		return false
	})
	n.raft.RegisterObserver(obs)
	defer n.raft.DeregisterObserver(obs)
	// At most one candidacy is prepared at a time; it ends with this loop.
	var (
		standing atomic.Bool
		wg       sync.WaitGroup
	)
	defer wg.Wait()
	stand := func(leader int) {
		if !standing.CompareAndSwap(false, true) {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer standing.Store(false)
			n.stand(ctx, leader, n.raft.LastContact())
		}()
	}
	// A leader elected before the observer was registered (peer 1 elects
	// itself at once at bootstrap) made no observation here.
	lastLeader := 0
	if _, lid := n.raft.LeaderWithID(); lid != "" {
		lastLeader, _ = strconv.Atoi(string(lid))
		n.metrics.LeaderObserved(lastLeader)
		n.tetherTo(lastLeader)
	}
	// The silence timer fires when the last contact with the leader is
	// leaderSilence old (each firing finds the contact it had then, and
	// sets the timer from the latest one): a check starts right at the
	// threshold, with about one wake-up per heartbeat timeout.
	silence := time.NewTimer(leaderSilence)
	defer silence.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-silence.C:
			next := leaderSilence
			if lastLeader != 0 && lastLeader != n.cfg.Self.ID && n.raft.State() == raft.Follower {
				if quiet := time.Since(n.raft.LastContact()); quiet >= leaderSilence {
					n.det.Check(lastLeader)
				} else {
					next = leaderSilence - quiet
				}
			}
			silence.Reset(max(next, time.Millisecond))
		case id := <-n.downs:
			if id == lastLeader {
				stand(id)
			}
		case o := <-ch:
			switch d := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				if id, err := strconv.Atoi(string(d.PeerID)); err == nil {
					n.det.Check(id)
				}
			case raft.LeaderObservation:
				id, _ := strconv.Atoi(string(d.LeaderID))
				n.metrics.LeaderObserved(id)
				n.tetherTo(id)
				if lastLeader != 0 && id != lastLeader && lastLeader != n.cfg.Self.ID {
					n.det.Check(lastLeader)
				}
				if id != 0 {
					lastLeader = id
				}
			}
		}
	}
}

// stand makes this voter a candidate if its leader is gone: leader was
// confirmed down, and no leader was heard from since
// contact (Raft's last contact when that was found). It waits its rank among
// the voters that answer a direct ping (or left gracefully) times
// standStagger first, so the lowest live voter stands first, and does not
// stand at all unless those voters, itself included, are a quorum.
func (n *Node) stand(ctx context.Context, leader int, contact time.Time) {
	if !n.leaderless(leader, contact) {
		return
	}
	self := n.cfg.Self.ID
	voters := n.Voters()
	if !slices.Contains(voters, self) {
		return
	}
	var others []int
	for _, v := range voters {
		if v != self && v != leader {
			others = append(others, v)
		}
	}
	up := append(n.det.Answering(others), self)
	// A voter that left gracefully still votes until the configuration
	// drops it (its leave waits for that, node/leave.go), though
	// memberlist no longer lists it to ping.
	left := n.det.Left()
	for _, v := range others {
		if left[v] && !slices.Contains(up, v) {
			up = append(up, v)
		}
	}
	if len(up) < len(voters)/2+1 {
		n.log.Debug("not standing for election: too few voters answer", "answer", up, "voters", voters)
		return
	}
	slices.Sort(up)
	if rank := slices.Index(up, self); rank > 0 {
		t := time.NewTimer(time.Duration(rank) * standStagger)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	if ctx.Err() != nil || !n.leaderless(leader, contact) {
		return
	}
	n.log.Debug("leader gone: standing for election", "leader", leader)
	n.standNow()
}

// leaderless reports whether this peer is a follower that has heard from no
// leader since contact and follows leader, or none.
func (n *Node) leaderless(leader int, contact time.Time) bool {
	if n.raft.State() != raft.Follower || n.raft.LastContact().After(contact) {
		return false
	}
	_, lid := n.raft.LeaderWithID()
	return lid == "" || lid == reconcile.ServerID(leader)
}

// standNow makes this peer's Raft a candidate at once, with the vote
// requests of a leadership transfer (see the top of this file), by sending
// it the TimeoutNow request a leader sends in a transfer. Peer 1 founding a
// cluster elects itself this way too. It returns once Raft has taken the
// request, or after the transport's timeout.
func (n *Node) standNow() {
	self := reconcile.ServerID(n.cfg.Self.ID)
	addr := n.trans.LocalAddr()
	req := &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(self), Addr: []byte(addr),
	}}
	var resp raft.TimeoutNowResponse
	if err := n.trans.TimeoutNow(self, addr, req, &resp); err != nil {
		n.log.Warn("could not stand for election", "error", err)
	}
}
