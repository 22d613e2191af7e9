package node

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/advertise"
	"roster/peer/reconcile"
)

// advertiseAddr chooses the IP this peer announces to the others (see
// package advertise) and logs why; "" leaves the choice to memberlist.
func (n *Node) advertiseAddr() string {
	c := n.chooseAddr()
	n.log.Info("advertised address", "ip", c.IP, "why", c.Why)
	return c.IP
}

func (n *Node) chooseAddr() advertise.Choice {
	return advertise.Choose(context.Background(), advertise.Input{
		Advertise: n.cfg.Advertise, Bind: n.cfg.Bind,
		Self: n.cfg.Self, Hosts: n.cfg.Hosts, Port: n.cfg.GossipPort,
	}, advertise.System())
}

// addressFixed reports whether the advertised address is set by a flag
// (--advertise, or --bind to one address), so it never changes.
func (n *Node) addressFixed() bool {
	if n.cfg.Advertise != "" {
		return true
	}
	ip := net.ParseIP(n.cfg.Bind)
	return ip != nil && !ip.IsUnspecified()
}

// moveCheck is how often a peer checks that its advertised address is still
// one of its own.
const moveCheck = time.Second

// watchAddress follows this peer when it moves: once its advertised address
// is no longer one of the host's (a container reconnected to its network
// with another IP), it chooses again and announces itself at the new
// address (memberlist and Raft), and the others re-add it there. Until a
// new address can be chosen (the network is not back yet) it keeps checking.
func (n *Node) watchAddress(ctx context.Context) {
	if n.addressFixed() {
		return
	}
	env := advertise.System()
	t := time.NewTicker(moveCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := n.det.LocalAddr()
		if advertise.Local(cur, env) {
			continue
		}
		c := n.chooseAddr()
		if c.IP == "" || c.IP == cur.String() {
			continue
		}
		n.log.Info("advertised address is gone: moving", "from", cur, "to", c.IP, "why", c.Why)
		if err := n.det.Readvertise(c.IP); err != nil {
			n.log.Warn("announce the new address", "error", err)
			continue
		}
		n.stream.SetAdvertise(&net.TCPAddr{IP: n.det.LocalAddr(), Port: n.cfg.RaftPort})
	}
}

// raftAddr is where Raft dials server id: where failure detection sees it
// now (see raftpeer.Transport).
func (n *Node) raftAddr(id raft.ServerID) (raft.ServerAddress, bool) {
	i, err := strconv.Atoi(string(id))
	if err != nil {
		return "", false
	}
	addr, ok := n.det.RaftAddr(i)
	return raft.ServerAddress(addr), ok
}

// peerAddrs remembers the address failure detection last saw each peer at.
// Safe for concurrent use.
type peerAddrs struct {
	mu sync.Mutex
	at map[int]string
}

// moved records ip for peer id and reports whether the peer was known at
// another address before.
func (p *peerAddrs) moved(id int, ip net.IP) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil {
		p.at = map[int]string{}
	}
	old, known := p.at[id]
	p.at[id] = ip.String()
	return known && old != ip.String()
}

// peerMoved drops this peer's Raft connections to the old address of a peer
// that moved.
func (n *Node) peerMoved(id int, ip net.IP) {
	n.log.Info("peer moved", "peer", id, "addr", ip)
	if port, ok := n.det.RaftAddr(id); ok {
		n.stream.DropMoved(string(reconcile.ServerID(id)), port)
	}
}
