package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Kind tags a log entry, so the log can carry more than one kind of command.
type Kind byte

// Log entry kinds.
const (
	// KindChange is a view change (Change).
	KindChange Kind = 1
)

// Change is a membership change, committed through Raft by the leader.
// It applies only to the view it was computed from (Base), so a change that a
// previous leader already made, or that a newer view overtook, is refused
// instead of applied twice.
type Change struct {
	// Base is the id of the view the change was computed against.
	Base uint64 `json:"base"`
	// Add and Del are the peer ids to add and remove.
	Add []int `json:"add,omitempty"`
	Del []int `json:"del,omitempty"`
	// Lives are the life numbers of the peers in Add (see life.go); an Add
	// of a member under a new life renews it.
	Lives map[int]uint64 `json:"lives,omitempty"`
	// Leader is the id of the peer that proposed (and, once committed,
	// committed) the change.
	Leader int `json:"leader"`
	// Cluster is the cluster id, carried by the first change (Base 0) only:
	// the id the bootstrapping peer generated (see ValidClusterID).
	Cluster string `json:"cluster,omitempty"`
}

// Encode returns the log entry bytes of c.
func (c Change) Encode() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // Change holds only numbers: cannot fail
	}
	return append([]byte{byte(KindChange)}, b...)
}

// ErrStale is returned by Apply for a change whose Base is not the current view.
var ErrStale = errors.New("change is stale: the view moved on")

// ErrNoop is returned by Apply for a change that changes nothing.
var ErrNoop = errors.New("change changes nothing")

// decode parses a log entry.
func decode(data []byte) (Kind, Change, error) {
	if len(data) == 0 {
		return 0, Change{}, errors.New("empty log entry")
	}
	switch k := Kind(data[0]); k {
	case KindChange:
		var c Change
		if err := json.Unmarshal(data[1:], &c); err != nil {
			return k, c, fmt.Errorf("bad change entry: %w", err)
		}
		if c.Cluster != "" && (c.Base != 0 || !ValidClusterID(c.Cluster)) {
			return k, Change{}, fmt.Errorf("bad change entry: cluster id %q on a change of view %d", c.Cluster, c.Base)
		}
		if !positive(c.Add) || !positive(c.Del) || c.Leader < 1 {
			return k, Change{}, errors.New("bad change entry: peer ids start at 1")
		}
		return k, c, nil
	default:
		return k, Change{}, fmt.Errorf("unknown log entry kind %d", k)
	}
}

// positive reports whether every id is at least 1.
func positive(ids []int) bool {
	for _, id := range ids {
		if id < 1 {
			return false
		}
	}
	return true
}
