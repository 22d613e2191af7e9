package detector

import (
	"fmt"

	"github.com/hashicorp/memberlist"
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

// up records a node that memberlist instance gen sees alive.
func (d *Detector) up(n *memberlist.Node, gen uint64) {
	id, ok := d.cfg.Hosts.ID(n.Name)
	if !ok {
		d.log.Warn("ignoring a node that is not in the hostsfile", "name", n.Name, "addr", n.Address())
		return
	}
	meta, ok := decodeMeta(n.Meta)
	if !ok {
		d.log.Warn("ignoring a node with unreadable metadata", "name", n.Name, "addr", n.Address())
		return
	}
	d.mu.Lock()
	if gen != d.gen {
		d.mu.Unlock()
		return
	}
	d.alive[id] = Member{ID: id, Addr: n.Addr, Meta: meta}
	d.leaving[id] = meta.Leaving
	delete(d.pending, id)
	delete(d.down, id)
	d.mu.Unlock()
	if d.cfg.OnAddr != nil {
		d.cfg.OnAddr(id, n.Addr)
	}
	d.notify()
}

// gone records a node that memberlist declared dead or that left. A
// graceful leave removes it at once. A death is only a suspicion until a
// direct check confirms it (see Check), unless a check already did.
func (d *Detector) gone(n *memberlist.Node, gen uint64) {
	id, ok := d.cfg.Hosts.ID(n.Name)
	if !ok {
		return
	}
	d.mu.Lock()
	if gen != d.gen {
		d.mu.Unlock()
		return
	}
	m, wasAlive := d.alive[id]
	graceful := d.leaving[id]
	confirmed := d.down[id]
	delete(d.alive, id)
	delete(d.leaving, id)
	if graceful || confirmed || !wasAlive {
		delete(d.pending, id)
		delete(d.down, id)
	} else {
		d.pending[id] = m
	}
	d.mu.Unlock()
	if wasAlive && !graceful && !confirmed {
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
func (g *delegate) LocalState(join bool) []byte                { return nil }
func (g *delegate) MergeRemoteState(buf []byte, join bool)     {}

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
	id, ok := d.cfg.Hosts.ID(n.Name)
	if !ok {
		return fmt.Errorf("%q is not in the hostsfile", n.Name)
	}
	if d.cfg.AddrCheck && !d.cfg.Resolver.Owns(id, n.Addr) {
		return fmt.Errorf("%s is not %s's address (hostsfile %s)", n.Addr, n.Name, d.cfg.Hosts.Path)
	}
	return nil
}
