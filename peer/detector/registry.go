package detector

import (
	"encoding/json"
	"net"
	"strconv"
)

// maxState bounds the registry another peer may hand over in a state
// exchange (a name is at most 253 bytes: this holds thousands).
const maxState = 1 << 20

// localState is what this peer hands over in memberlist's state exchange
// (every join, and every PushPullInterval): the registry as it knows it, so
// that a peer outside the hostsfile learns the id the cluster gave it before
// it has a Raft log. Nothing when the registry is empty.
func (d *Detector) localState() []byte {
	names := d.cfg.Dir.Registered()
	if len(names) == 0 {
		return nil
	}
	b, _ := json.Marshal(names) // strings and numbers: cannot fail
	return b
}

// mergeState learns the registry another peer handed over; garbage is
// dropped. The exchange is encrypted and authenticated with the cluster key.
func (d *Detector) mergeState(b []byte) {
	if len(b) == 0 || len(b) > maxState {
		return
	}
	var names map[string]int
	if err := json.Unmarshal(b, &names); err != nil {
		d.log.Debug("unreadable registry from a peer", "error", err)
		return
	}
	if d.cfg.Dir.Learn(names) {
		d.Remap()
	}
}

// Remap gives the guests whose names the directory now knows their ids
// (call it after the directory learned names). Safe for concurrent use.
func (d *Detector) Remap() {
	d.mu.Lock()
	var found []Member
	for name, m := range d.guests {
		if id, ok := d.cfg.Dir.ID(name); ok {
			delete(d.guests, name)
			m.ID = id
			d.alive[id] = m
			d.leaving[id] = m.Meta.Leaving
			delete(d.pending, id)
			delete(d.down, id)
			delete(d.lost, id)
			found = append(found, m)
		}
	}
	d.mu.Unlock()
	if len(found) == 0 {
		return
	}
	if d.cfg.OnAddr != nil {
		for _, m := range found {
			d.cfg.OnAddr(m.ID, m.Addr)
		}
	}
	d.notify()
}

// SetSelf sets this peer's id once a peer outside the hostsfile has one.
func (d *Detector) SetSelf(id int) {
	d.self.Store(int64(id))
	d.Remap()
}

// selfID returns this peer's id (0 while it has none).
func (d *Detector) selfID() int { return int(d.self.Load()) }

// Everyone returns every peer that counts as alive (as Members), guests
// included, by name.
func (d *Detector) Everyone() map[string]Member {
	out := map[string]Member{}
	for _, m := range d.Members() {
		out[m.Name] = m
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, m := range d.guests {
		out[name] = m
	}
	return out
}

// Exchange asks up to two alive peers that belong to a cluster (else any
// two) for their state, the registry included: a peer without an id calls
// it until it learns one. It returns once the exchanges are done (each at
// most memberlist's TCP timeout).
func (d *Detector) Exchange() {
	var joined, others []string
	for _, m := range d.Everyone() {
		if m.Name == d.cfg.Self.Name {
			continue
		}
		addr := net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
		if m.Meta.Joined {
			joined = append(joined, addr)
		} else {
			others = append(others, addr)
		}
	}
	addrs := append(joined, others...)
	if len(addrs) > 2 {
		addrs = addrs[:2]
	}
	if len(addrs) > 0 {
		d.ml.Load().Join(addrs)
	}
}
