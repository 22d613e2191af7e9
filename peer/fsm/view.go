// Package fsm is the replicated state machine of a roster cluster: the
// current view (id, the leader that committed it, its members), the
// registry of the ids given to peers outside the hostsfile (registry.go),
// and the client groups, changed only by Raft log entries, with snapshots
// for Raft to compact its log.
package fsm

import (
	"maps"
	"slices"
)

// View is one committed membership of the group. The zero View (ID 0, no
// members) is the state before the first view. Views are values: treat
// Members as read-only.
type View struct {
	// ID numbers views from 1; each committed change makes the next one.
	ID uint64 `json:"id"`
	// Leader is the id of the peer whose Raft leadership committed the view.
	Leader int `json:"leader"`
	// Members are the peer ids in the view, ascending.
	Members []int `json:"members"`
	// Lives maps members to the life number they were admitted with
	// (see life.go); members admitted without one are absent.
	Lives map[int]uint64 `json:"lives,omitempty"`
}

// Contains reports whether peer id is a member of the view.
func (v View) Contains(id int) bool {
	_, ok := slices.BinarySearch(v.Members, id)
	return ok
}

// Equal reports whether two views are the same.
func (v View) Equal(o View) bool {
	return v.ID == o.ID && v.Leader == o.Leader && slices.Equal(v.Members, o.Members) && maps.Equal(v.Lives, o.Lives)
}

// Clone returns a copy of v that shares no memory with it.
func (v View) Clone() View {
	v.Members = slices.Clone(v.Members)
	v.Lives = cloneLives(v.Lives)
	return v
}

// next returns the view after applying c to v, and whether c changes anything.
func (v View) next(c Change) (View, bool) {
	set := make(map[int]bool, len(v.Members)+len(c.Add))
	for _, m := range v.Members {
		set[m] = true
	}
	changed := false
	for _, a := range c.Add {
		if !set[a] {
			set[a] = true
			changed = true
		}
	}
	for _, d := range c.Del {
		if set[d] {
			delete(set, d)
			changed = true
		}
	}
	members := make([]int, 0, len(set))
	for m := range set {
		members = append(members, m)
	}
	slices.Sort(members)
	lives, renewed := v.nextLives(c, members)
	if !changed && !renewed {
		return v, false
	}
	return View{ID: v.ID + 1, Leader: c.Leader, Members: members, Lives: lives}, true
}

// sortedUnique reports whether ids strictly ascend.
func sortedUnique(ids []int) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return false
		}
	}
	return true
}
