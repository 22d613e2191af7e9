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
// one of its own (a look at its interfaces, no network traffic) while it is
// moving, or always where the kernel's address notices are not available
// (advertise.Watch). With them, it looks when a notice comes, and every
// moveSafety besides.
const (
	moveCheck  = 250 * time.Millisecond
	moveSafety = 10 * time.Second
)

// moveChoose bounds the name lookups of a new choice of address.
const moveChoose = 500 * time.Millisecond

// watchAddress follows this peer when it moves: as soon as its advertised
// address is no longer one of the host's (a container cut off its network)
// memberlist stops, so that it announces no stale address; once the host
// has an address again it chooses (its only usable address, else the rules
// of package advertise) and announces itself there (memberlist and Raft),
// and the others re-add it under its id.
func (n *Node) watchAddress(ctx context.Context) {
	if n.addressFixed() {
		return
	}
	env := advertise.System()
	changes, stop, err := advertise.Watch()
	if err != nil {
		n.log.Debug("no address notices: polling the interfaces", "error", err)
	} else {
		defer stop()
	}
	t := time.NewTicker(moveCheck)
	defer t.Stop()
	period := moveCheck
	for {
		// Polled fast only while moving (or without notices).
		want := moveCheck
		if changes != nil && !n.det.Suspended() {
			want = moveSafety
		}
		if want != period {
			period = want
			t.Reset(period)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changes:
		}
		cur := n.det.LocalAddr()
		if advertise.Local(cur, env) {
			if n.det.Suspended() {
				// Back at the same address.
				n.readvertise(cur.String(), "the same address is back")
			}
			continue
		}
		n.det.Suspend()
		ip, why := "", ""
		if sole, ok := advertise.Sole(env); ok {
			ip, why = sole.String(), "the host's only address"
		} else {
			c := advertise.Choose(ctx, advertise.Input{
				Self: n.cfg.Self, Hosts: n.cfg.Hosts, Port: n.cfg.GossipPort, Timeout: moveChoose,
			}, env)
			ip, why = c.IP, c.Why
		}
		if ip != "" && ip != cur.String() {
			n.readvertise(ip, why)
		}
	}
}

// readvertise announces this peer at ip.
func (n *Node) readvertise(ip, why string) {
	from := n.det.LocalAddr()
	if err := n.det.Readvertise(ip); err != nil {
		n.log.Warn("announce a new address", "ip", ip, "error", err)
		return
	}
	n.stream.SetAdvertise(&net.TCPAddr{IP: n.det.LocalAddr(), Port: n.cfg.RaftPort})
	n.log.Info("moved", "from", from.String(), "to", ip, "why", why)
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
	n.log.Info("peer moved", "peer", id, "addr", ip.String())
	if port, ok := n.det.RaftAddr(id); ok {
		n.stream.DropMoved(string(reconcile.ServerID(id)), port)
	}
}
