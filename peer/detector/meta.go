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
	// Cluster is the id of the cluster the peer's data belongs to ("" while
	// it has none): a peer refuses peers that announce another.
	Cluster string `json:"c,omitempty"`
}

func (m Meta) encode() []byte {
	b, _ := json.Marshal(m) // ints and a bool: cannot fail
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

// SetCluster announces the id of the cluster this peer's data belongs to.
func (d *Detector) SetCluster(id string) {
	d.mu.Lock()
	d.meta.Cluster = id
	d.mu.Unlock()
	if err := d.ml.UpdateNode(time.Second); err != nil {
		d.log.Warn("announce cluster id", "error", err)
	}
}
