package node

import (
	"roster/peer/groups/service"
)

// startGroups builds the client groups service and mounts its API; the
// service runs from Start, with the peer's other loops.
func (n *Node) startGroups(opts Options) {
	n.groups = service.New(service.Config{
		Self:  n.cfg.Self.ID,
		Raft:  n.raft,
		State: n.fsm.Groups(),
		Members: func() (uint64, []int) {
			v := n.fsm.View()
			return v.ID, v.Members
		},
		PeerAPI:  n.det.APIAddr,
		Interval: n.cfg.ClientInterval,
		Misses:   n.cfg.ClientMisses,
		Dial:     opts.Dial,
		Header:   opts.PeerHeader,
		Logger:   n.log,
	})
	if n.api != nil {
		n.api.MountGroups(n.groups)
	}
}

// Groups returns the peer's client groups service.
func (n *Node) Groups() *service.Service { return n.groups }
