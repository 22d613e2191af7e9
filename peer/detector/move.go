package detector

import (
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"

	"roster/peer/hostsfile"
)

// Re-announcement after a move: memberlist accepts a name at a new address
// only once it has declared the old one dead (and DeadNodeReclaimTime has
// passed), so for reannounceFor after a move this peer re-joins up to
// reannouncePeers random peers every round (push/pull carries its alive
// message at the new address); the first peer that accepts it gossips it
// on.
const (
	reannounceFor   = 30 * time.Second
	reannouncePeers = 3
)

// Readvertise makes this peer announce itself at ip from now on: memberlist
// cannot change its advertised address in place, so the instance is
// replaced by a new one under the same name (same port, same metadata),
// which joins the others at once. The peers memberlist saw alive stay
// members until the new instance has joined; those it does not find then
// are checked directly (see Check). Safe for concurrent use; it returns an
// error when the new instance cannot start (the port is taken: the caller
// may try again) or after Shutdown.
func (d *Detector) Readvertise(ip string) error {
	d.restart.Lock()
	defer d.restart.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return net.ErrClosed
	}
	d.gen++
	gen := d.gen
	d.mu.Unlock()

	old := d.ml.Load()
	from := d.LocalAddr()
	if err := old.Shutdown(); err != nil {
		d.log.Debug("stop memberlist for a new address", "error", err)
	}
	ml, err := d.create(ip, gen)
	if err != nil {
		// No instance runs: the caller tries again, as after Suspend.
		d.mu.Lock()
		d.suspended = true
		d.mu.Unlock()
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		ml.Shutdown()
		return net.ErrClosed
	}
	d.ml.Store(ml)
	d.suspended = false
	d.movedAt = time.Now()
	d.goLocked(func() { d.resync(gen) })
	d.mu.Unlock()
	d.log.Info("announcing this peer at a new address", "from", from.String(), "to", d.LocalAddr().String())
	return nil
}

// Suspend stops memberlist at once, until Readvertise starts a new
// instance: this peer's advertised address is gone from its interfaces (a
// container cut off its network), and the instance, which cannot change
// its address, would announce the stale one as soon as the network is back,
// making the others probe an address that may belong to another peer by
// then. The members stay as they were (this peer hears nothing meanwhile).
// Safe for concurrent use.
func (d *Detector) Suspend() {
	d.restart.Lock()
	defer d.restart.Unlock()
	d.mu.Lock()
	if d.closed || d.suspended {
		d.mu.Unlock()
		return
	}
	d.gen++
	d.suspended = true
	d.mu.Unlock()
	if err := d.ml.Load().Shutdown(); err != nil {
		d.log.Debug("stop memberlist while the address is gone", "error", err)
	}
	d.log.Info("advertised address gone: memberlist stopped until a new address is chosen")
}

// Suspended reports whether Suspend stopped memberlist and no new instance
// has started yet.
func (d *Detector) Suspended() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suspended
}

// resync joins every other peer with the new memberlist instance gen, then
// drops the members that instance does not see alive: they died while the
// instance was replaced, or are unreachable from the new address. A direct
// check decides (see gone).
func (d *Detector) resync(gen uint64) {
	d.JoinNow()
	ml := d.ml.Load()
	seen := map[string]bool{}
	for _, n := range ml.Members() {
		seen[n.Name] = true
	}
	d.mu.Lock()
	if gen != d.gen {
		d.mu.Unlock()
		return
	}
	var lost []int
	for id := range d.alive {
		if id != d.selfID() && !seen[d.cfg.Dir.Name(id)] {
			lost = append(lost, id)
		}
	}
	d.mu.Unlock()
	for _, id := range lost {
		d.dropStale(id, gen)
	}
	d.wake()
}

// dropStale treats member id as memberlist instance gen would a node it
// declared dead.
func (d *Detector) dropStale(id int, gen uint64) {
	d.mu.Lock()
	m, ok := d.alive[id]
	d.mu.Unlock()
	if !ok {
		return
	}
	d.gone(&memberlist.Node{Name: m.Name, Addr: m.Addr}, gen)
}

// reannounce re-joins a few random peers while this peer has moved recently.
func (d *Detector) reannounce() {
	d.mu.Lock()
	recent := !d.movedAt.IsZero() && time.Since(d.movedAt) < reannounceFor
	d.mu.Unlock()
	if !recent {
		return
	}
	if len(d.cfg.Join) > 0 {
		// The --join targets too, at once (see join.go).
		d.joiner.mu.Lock()
		d.joiner.next = time.Time{}
		d.joiner.mu.Unlock()
	}
	var others []int
	for _, p := range d.cfg.Hosts.Peers {
		if p.ID != d.selfID() {
			others = append(others, p.ID)
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	for _, id := range others[:min(reannouncePeers, len(others))] {
		p := d.cfg.Hosts.Peers[id-1]
		d.mu.Lock()
		busy := d.joining[id]
		if !busy && d.goLocked(func() { d.join(p) }) {
			d.joining[id] = true
		}
		d.mu.Unlock()
	}
}

// join joins one peer (a push/pull of the whole state, this peer's included).
func (d *Detector) join(p hostsfile.Peer) {
	defer func() {
		d.mu.Lock()
		delete(d.joining, p.ID)
		d.mu.Unlock()
	}()
	d.joinAt(d.seed(p))
}

// joinAt joins the peer at addr (host:port) with the current memberlist
// instance, a push/pull of the whole state. It returns when the exchange
// ends (within memberlist's TCP timeout) or at Shutdown, whichever comes
// first; the exchange itself ends within that timeout either way.
func (d *Detector) joinAt(addr string) {
	joined := make(chan struct{})
	go func() {
		defer close(joined)
		d.ml.Load().Join([]string{addr})
	}()
	select {
	case <-joined:
	case <-d.stop:
	}
}

// wake makes Run start a re-join round now.
func (d *Detector) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// RaftAddr returns the Raft address (ip:port) at which failure detection
// sees peer id now, if it counts as alive.
func (d *Detector) RaftAddr(id int) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down[id] {
		return "", false
	}
	m, ok := d.known(id)
	if !ok || m.Meta.RaftPort == 0 {
		return "", false
	}
	return net.JoinHostPort(m.Addr.String(), strconv.Itoa(m.Meta.RaftPort)), true
}
