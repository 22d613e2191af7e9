package node

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/api"
)

// readyContact is how recently a follower must have heard from its leader
// to be ready: several election timeouts, so that a heartbeat or two lost
// does not flap readiness, while a peer cut off from its leader turns
// unready within seconds.
const readyContact = 3 * time.Second

// Live says whether the peer is alive: it answers (this is called from the
// API) and its Raft has not shut down.
func (n *Node) Live() api.Health {
	return api.NewHealth(n.Status(), []api.Check{n.raftCheck()})
}

func (n *Node) raftCheck() api.Check {
	st := n.raft.State()
	return api.Check{Name: "raft", OK: st != raft.Shutdown, Detail: strings.ToLower(st.String())}
}

// Ready says whether the peer takes part in its cluster: Raft runs, a
// leader is known and was heard from recently, every entry known committed
// is applied, the peer is in the committed view, the data dir can be
// written (and no storage write fails), and the peer's data belongs to the
// cluster it finds.
func (n *Node) Ready() api.Health {
	st := n.Status()
	checks := []api.Check{n.raftCheck()}

	leader := api.Check{Name: "leader", OK: st.Leader != 0, Detail: "no leader known"}
	if leader.OK {
		leader.Detail = fmt.Sprintf("peer %d leads", st.Leader)
	}
	contact := api.Check{Name: "leader_contact"}
	switch last := n.raft.LastContact(); {
	case st.Leader == n.cfg.Self.ID && n.raft.State() == raft.Leader:
		contact.OK, contact.Detail = true, "this peer leads"
	case last.IsZero():
		contact.Detail = "never heard from a leader"
	default:
		ago := time.Since(last)
		contact.OK = ago < readyContact && st.Leader != 0
		contact.Detail = fmt.Sprintf("last heard from the leader %s ago", ago.Round(time.Millisecond))
	}
	applied, commit := n.raft.AppliedIndex(), n.raft.CommitIndex()
	apply := api.Check{Name: "applied", OK: applied >= commit,
		Detail: fmt.Sprintf("applied log index %d of %d committed (view %d)", applied, commit, st.View.ID)}

	disk := api.Check{Name: "data_dir", OK: true, Detail: "writable"}
	if n.cfg.DataDir == "" {
		disk.Detail = "none: the state lives in memory"
	}
	n.faults.probe()
	if bad := n.faults.current(); len(bad) > 0 {
		disk.OK, disk.Detail = false, strings.Join(bad, "; ")
	}
	cluster := api.Check{Name: "cluster", OK: true, Detail: "cluster " + orNone(n.fsm.Cluster())}
	if why := n.guard.status(); why != "" {
		cluster.OK, cluster.Detail = false, why
	}
	member := api.Check{Name: "member", OK: st.View.Contains(n.cfg.Self.ID), Detail: fmt.Sprintf("in view %d", st.View.ID)}
	if !member.OK {
		member.Detail = fmt.Sprintf("not in view %d (waiting to be added)", st.View.ID)
	}
	checks = append(checks, leader, contact, apply, member, disk, cluster)
	return api.NewHealth(st, checks)
}

func orNone(id string) string {
	if id == "" {
		return "id not known (yet)"
	}
	return id
}
