package detector

import (
	"fmt"

	"github.com/hashicorp/memberlist"

	"roster/peer/hostsfile"
)

// events receives the membership callbacks of memberlist instance gen.
// memberlist calls them from its own goroutines, one at a time; those of an
// instance replaced by Readvertise are ignored.
type events struct {
	d   *Detector
	gen uint64
}

func (e *events) NotifyJoin(n *memberlist.Node)   { e.d.up(n, e.gen) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.d.up(n, e.gen) }
func (e *events) NotifyLeave(n *memberlist.Node)  { e.d.gone(n, e.gen) }

// up records a node that memberlist instance gen sees alive: a peer with
// an id, or (in an open cluster) a guest waiting for one.
func (d *Detector) up(n *memberlist.Node, gen uint64) {
	id, ok := d.cfg.Dir.ID(n.Name)
	if !ok && !d.cfg.Open {
		d.log.Warn("ignoring a node that is not in the hostsfile", "name", n.Name, "addr", n.Address())
		return
	}
	meta, decoded := decodeMeta(n.Meta)
	if !decoded {
		d.log.Warn("ignoring a node with unreadable metadata", "name", n.Name, "addr", n.Address())
		return
	}
	m := Member{ID: id, Name: n.Name, Addr: n.Addr, Port: n.Port, Meta: meta}
	d.mu.Lock()
	if gen != d.gen {
		d.mu.Unlock()
		return
	}
	if !ok {
		d.guests[n.Name] = m
		d.mu.Unlock()
		d.notify()
		return
	}
	delete(d.guests, n.Name)
	d.alive[id] = m
	d.leaving[id] = meta.Leaving
	delete(d.left, id)
	delete(d.pending, id)
	delete(d.down, id)
	delete(d.lost, id)
	d.mu.Unlock()
	if d.cfg.OnAddr != nil {
		d.cfg.OnAddr(id, n.Addr)
	}
	d.notify()
}

// gone records a node that memberlist declared dead or that left. A
// graceful leave removes it at once. A death is only a suspicion until a
// direct check confirms it (see Check), unless a check already did, or the
// peer is not in the view this peer holds (Config.InView): no view change
// hangs on it (the leader pings a joiner before adding it anyway), and a
// false verdict is memberlist's to undo (the peer refutes it). When 200
// peers start at once in one process, checking every false verdict on
// joiners made 15,000 pings a second and no view grew past the first.
func (d *Detector) gone(n *memberlist.Node, gen uint64) {
	d.mu.Lock()
	_, guest := d.guests[n.Name]
	if gen == d.gen {
		delete(d.guests, n.Name)
	}
	d.mu.Unlock()
	id, ok := d.cfg.Dir.ID(n.Name)
	if !ok {
		if guest {
			d.notify()
		}
		return
	}
	member := d.cfg.InView == nil || d.cfg.InView(id)
	d.mu.Lock()
	if gen != d.gen {
		d.mu.Unlock()
		return
	}
	m, wasAlive := d.alive[id]
	if wasAlive && n.Addr != nil && !m.Addr.Equal(n.Addr) {
		// A verdict on an address the peer moved away from (see
		// conflict.go): the record here is its new address, which is
		// checked instead (a peer that moved and then left or died is
		// found down there), and memberlist is shown it again.
		d.goLocked(func() { d.retake(m, gen) })
		d.mu.Unlock()
		d.Check(id)
		return
	}
	graceful := d.leaving[id]
	confirmed := d.down[id]
	delete(d.alive, id)
	delete(d.leaving, id)
	if graceful {
		d.left[id] = true
		if wasAlive {
			d.lost[id] = m.Meta.Life
		}
	}
	if graceful || confirmed || !wasAlive || !member {
		delete(d.pending, id)
		delete(d.down, id)
	} else {
		d.pending[id] = m
	}
	d.mu.Unlock()
	if wasAlive && !graceful && !confirmed && member {
		d.Check(id)
	}
	d.notify()
}

// delegate serves this peer's metadata to memberlist.
type delegate Detector

func (g *delegate) NodeMeta(limit int) []byte {
	d := (*Detector)(g)
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.meta.encode()
	if len(b) > limit {
		return nil
	}
	return b
}
func (g *delegate) NotifyMsg([]byte)                           {}
func (g *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState hands the registry to the peers this one exchanges state
// with (see registry.go).
func (g *delegate) LocalState(join bool) []byte { return (*Detector)(g).localState() }

// MergeRemoteState learns the registry of another peer (see registry.go).
func (g *delegate) MergeRemoteState(buf []byte, join bool) { (*Detector)(g).mergeState(buf) }

// alive decides which nodes memberlist admits: hostsfile names only, and,
// with Config.AddrCheck, only at an address the name owns (its hostsfile
// address, or what it resolves to now). memberlist calls it for every
// alive message and push/pull entry, and logs the refusals (at a bounded
// rate, see netguard.LineWriter).
type alive Detector

func (a *alive) NotifyAlive(n *memberlist.Node) error {
	d := (*Detector)(a)
	if n.Name == d.cfg.Self.Name {
		return nil // memberlist refutes claims to its own name itself
	}
	if hostsfile.CheckName(n.Name) != nil {
		return fmt.Errorf("%q is not a peer name", n.Name)
	}
	id, ok := d.cfg.Hosts.ID(n.Name)
	if !ok {
		if d.cfg.Open {
			return nil // a peer that came by --join: the cluster key decides
		}
		return fmt.Errorf("%q is not in the hostsfile", n.Name)
	}
	if d.cfg.AddrCheck && !d.cfg.Resolver.Owns(id, n.Addr) {
		return fmt.Errorf("%s is not %s's address (hostsfile %s)", n.Addr, n.Name, d.cfg.Hosts.Path)
	}
	return nil
}
