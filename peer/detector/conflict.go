package detector

import (
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// A peer that moved (a container reconnected with another IP, a pod
// restarted elsewhere) announces its name at a new address. memberlist
// refuses that while it holds the old address alive or suspect, until it
// has declared the old one dead (a few probe periods) and
// DeadNodeReclaimTime has passed: meanwhile this peer would ping, and the
// leader would configure Raft at, an address where nobody answers, and a
// direct check there confirms a live peer down.
//
// memberlist reports each refusal (NotifyConflict). The detector then pings
// the name at both addresses: when the new one answers and the old one does
// not, the peer moved, and it counts as alive at the new address at once
// (Members, Alive, RaftAddr, direct checks), as if memberlist had accepted
// it; memberlist's later verdict on the old address starts a check of the
// new one instead of a removal (see gone).
// Once memberlist has declared the old address dead and reclaimTime has
// passed, the detector joins the peer at its new address, so that memberlist
// takes it there too (the peer's own alive messages may have been refused
// before, and the next state exchange may be many seconds away). A name that
// answers at its old address stays there: two processes claim it, and
// memberlist's choice stands.

// conflicts receives memberlist instance gen's address conflicts.
type conflicts struct {
	d   *Detector
	gen uint64
}

// NotifyConflict is called by memberlist, holding its node lock, when an
// alive message names a known node at another address. It must not block.
func (c *conflicts) NotifyConflict(existing, other *memberlist.Node) {
	d := c.d
	id, ok := d.cfg.Dir.ID(other.Name)
	if !ok || id == d.selfID() {
		return
	}
	meta, decoded := decodeMeta(other.Meta)
	if !decoded {
		return
	}
	moved := memberlist.Node{Name: other.Name, Addr: slices.Clone(other.Addr), Port: other.Port, Meta: slices.Clone(other.Meta)}
	old := slices.Clone(existing.Addr)
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.gen != d.gen || d.moving[id] {
		return
	}
	if m, ok := d.alive[id]; ok && m.Addr.Equal(moved.Addr) && m.Meta == meta {
		return // taken already
	}
	if d.goLocked(func() { d.follow(id, old, moved, c.gen) }) {
		d.moving[id] = true
	}
}

// follow takes peer id at its new address when it answers there and not at
// old (see NotifyConflict).
func (d *Detector) follow(id int, old net.IP, moved memberlist.Node, gen uint64) {
	defer func() {
		d.mu.Lock()
		delete(d.moving, id)
		d.mu.Unlock()
	}()
	if !d.answers(moved.Name, moved.Addr) || d.answers(moved.Name, old) {
		return
	}
	d.log.Info("peer answers at a new address that memberlist refuses until it declares the old one dead: following it there",
		"peer", moved.Name, "from", old.String(), "to", moved.Addr.String())
	d.up(&moved, gen)
}

// retake joins member m (the record followed to its new address) with
// memberlist instance gen once reclaimTime has passed since memberlist
// declared its old address dead: the state exchange brings m's alive
// message, which memberlist now takes.
func (d *Detector) retake(m Member, gen uint64) {
	if !d.sleep(reclaimTime + 100*time.Millisecond) {
		return
	}
	d.mu.Lock()
	cur, ok := d.alive[m.ID]
	current := gen == d.gen && ok && cur.Addr.Equal(m.Addr)
	d.mu.Unlock()
	if !current {
		return
	}
	d.joinAt(net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port))))
}
