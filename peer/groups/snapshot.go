package groups

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Snapshot is the serialized form of a State, part of the FSM's snapshot.
// It is a plain value.
type Snapshot struct {
	// Index is the last entry that changed any group; Applied the last
	// groups entry applied.
	Index   uint64 `json:"index"`
	Applied uint64 `json:"applied"`
	// Groups maps each group to its state.
	Groups map[string]SnapshotGroup `json:"groups"`
}

// SnapshotGroup is one group in a Snapshot.
type SnapshotGroup struct {
	Index   uint64           `json:"index"`
	Members []SnapshotMember `json:"members"`
}

// SnapshotMember is one member in a Snapshot.
type SnapshotMember struct {
	Client      string          `json:"client"`
	Addr        string          `json:"addr"`
	Meta        json.RawMessage `json:"meta,omitempty"`
	Incarnation uint64          `json:"incarnation"`
	Request     string          `json:"request,omitempty"`
}

// Snapshot returns a copy of the state, sorted, for the FSM's snapshot.
func (s *State) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Index: s.index, Applied: s.applied, Groups: make(map[string]SnapshotGroup, len(s.groups))}
	for name, g := range s.groups {
		if g.view == nil {
			g.view = buildView(name, g)
		}
		sg := SnapshotGroup{Index: g.index, Members: make([]SnapshotMember, len(g.view.Members))}
		for i, m := range g.view.Members {
			sg.Members[i] = SnapshotMember{Client: m.Client, Addr: m.Addr, Meta: m.Meta, Incarnation: m.Incarnation, Request: m.Request}
		}
		out.Groups[name] = sg
	}
	return out
}

// Restore replaces the state with a snapshot, and wakes every waiter. A nil
// snapshot (from a peer that had no groups) empties the state.
func (s *State) Restore(snap *Snapshot) error {
	groups := map[string]*group{}
	clients := 0
	var index, applied uint64
	if snap != nil {
		index, applied = snap.Index, snap.Applied
		for name, sg := range snap.Groups {
			if name == "" || len(sg.Members) == 0 {
				return fmt.Errorf("restore groups: group %q is empty", name)
			}
			g := newGroup()
			g.index = sg.Index
			for _, m := range sg.Members {
				if m.Client == "" || m.Incarnation == 0 {
					return errors.New("restore groups: a member without an id or incarnation")
				}
				g.members[m.Client] = Member{Client: m.Client, Addr: m.Addr, Meta: m.Meta, Incarnation: m.Incarnation, Request: m.Request}
			}
			clients += len(g.members)
			groups[name] = g
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, g := range s.groups {
		close(g.changed)
		if groups[name] == nil {
			s.observeSize(name, 0)
		}
	}
	for name, g := range groups {
		s.observeSize(name, len(g.members))
	}
	s.groups, s.index, s.applied, s.clients = groups, index, applied, clients
	close(s.anyCh)
	s.anyCh = make(chan struct{})
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
	return nil
}
