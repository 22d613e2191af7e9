package detector

import (
	"encoding/json"
	"time"
)

// Meta is what a peer tells the others about itself through memberlist's
// node metadata (at most memberlist.MetaMaxSize bytes).
type Meta struct {
	// RaftPort and APIPort are the peer's TCP ports.
	RaftPort int `json:"r"`
	APIPort  int `json:"a,omitempty"`
	// Leaving is set just before a graceful leave, so that the others can
	// tell it from a crash (memberlist's own node state is not reliable
	// in NotifyLeave).
	Leaving bool `json:"l,omitempty"`
	// Joined is set once the peer has been in a view: it belongs to a
	// cluster, so peer 1 must not bootstrap a second one.
	Joined bool `json:"j,omitempty"`
	// Life is the peer process's life number (fsm.NewLife): the leader
	// records it when it admits the peer, and a new number from a known
	// peer means it restarted (0: the peer announces none).
	Life uint64 `json:"i,omitempty"`
	// Cluster is the id of the cluster the peer's data belongs to ("" while
	// it has none): a peer refuses peers that announce another.
	Cluster string `json:"c,omitempty"`
	// ID is the peer's id, announced once its Raft runs under it (0: not
	// yet, or a peer that announces none): the leader admits a peer
	// outside the hostsfile only then.
	ID int `json:"n,omitempty"`
}

func (m Meta) encode() []byte {
	b, _ := json.Marshal(m) // numbers and booleans: cannot fail
	return b
}

// decodeMeta parses metadata from the network; garbage yields ok=false.
func decodeMeta(b []byte) (Meta, bool) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil || m.RaftPort < 0 || m.RaftPort > 65535 || m.APIPort < 0 || m.APIPort > 65535 {
		return Meta{}, false
	}
	return m, true
}

// Lives maps the ids of the peers that count as alive (as Members) to the
// life number each announces; peers that announce none are absent.
func (d *Detector) Lives() map[int]uint64 {
	out := map[int]uint64{}
	for id, m := range d.Members() {
		if m.Meta.Life != 0 {
			out[id] = m.Meta.Life
		}
	}
	return out
}

// sameLife reports whether two records of a peer are of the same process at
// the same address: a direct check's verdict holds only for the record it
// pinged, not for a restarted peer that memberlist has seen since.
func sameLife(a, b Member) bool {
	return a.Meta.Life == b.Meta.Life && a.Addr.Equal(b.Addr)
}

// SetCluster announces the id of the cluster this peer's data belongs to.
func (d *Detector) SetCluster(id string) {
	d.mu.Lock()
	d.meta.Cluster = id
	d.mu.Unlock()
	if err := d.announce(announceWait); err != nil {
		d.log.Debug("announce cluster id", "error", err)
	}
}

// SetID announces this peer's id (once its Raft runs under it).
func (d *Detector) SetID(id int) {
	d.mu.Lock()
	d.meta.ID = id
	d.mu.Unlock()
	if err := d.announce(announceWait); err != nil {
		d.log.Debug("announce id", "error", err)
	}
}

// announceWait bounds how long an announcement of this peer's metadata waits
// for its broadcast to go out. A timeout only says it has not gone out yet:
// it goes with the next gossip. It is short so that an announcement never
// holds the next one back (the cluster id behind the joined flag).
const announceWait = time.Second

// announce gossips this peer's current metadata, waiting at most wait for
// the broadcast. memberlist's UpdateNode reads this node's state outside its
// lock while another UpdateNode writes it, so the detector's calls are made
// one at a time; the short wait keeps one from holding the next back.
func (d *Detector) announce(wait time.Duration) error {
	d.announcing.Lock()
	defer d.announcing.Unlock()
	return d.ml.Load().UpdateNode(wait)
}
