package groups

import (
	"maps"
	"testing"
)

// sizes is an Observer that records what it is told.
type sizes struct {
	size    map[string]int
	expired map[string]int
}

func newSizes() *sizes { return &sizes{size: map[string]int{}, expired: map[string]int{}} }

func (s *sizes) GroupSize(g string, n int) { s.size[g] = n }
func (s *sizes) GroupExpired(g string)     { s.expired[g]++ }
func (s *sizes) GroupGone(g string)        { delete(s.size, g) }

// TestObserver checks that the observer hears every size change, each
// expiration (not a leave, not a late expire of an old life), the end of a
// group, and a restore.
func TestObserver(t *testing.T) {
	s := NewState()
	s.Apply(5, encode(t, join("jobs", "c1", "h:1")))
	o := newSizes()
	s.SetObserver(o)
	if want := map[string]int{"jobs": 1}; !maps.Equal(o.size, want) {
		t.Fatalf("sizes when set: %v, want %v", o.size, want)
	}
	s.Apply(6, encode(t, join("jobs", "c2", "h:2"), join("web", "w1", "h:3"), join("jobs", "c1", "h:1")))
	if want := map[string]int{"jobs": 2, "web": 1}; !maps.Equal(o.size, want) {
		t.Fatalf("sizes after joins: %v, want %v", o.size, want)
	}
	// A late expire of c1's old life (5) is no expiration; the current one is.
	s.Apply(7, encode(t, Op{Kind: OpExpire, Group: "jobs", Client: "c1", Incarnation: 5}))
	if len(o.expired) != 0 {
		t.Fatalf("a late expire counted: %v", o.expired)
	}
	s.Apply(8, encode(t, Op{Kind: OpExpire, Group: "jobs", Client: "c1", Incarnation: 6}, Op{Kind: OpLeave, Group: "web", Client: "w1"}))
	if want := map[string]int{"jobs": 1}; !maps.Equal(o.size, want) || !maps.Equal(o.expired, map[string]int{"jobs": 1}) {
		t.Fatalf("after an expire and a leave: sizes %v, expired %v", o.size, o.expired)
	}
	// A restore tells the new sizes, and the end of the groups it drops.
	if err := s.Restore(&Snapshot{Index: 9, Applied: 9, Groups: map[string]SnapshotGroup{
		"db": {Index: 9, Members: []SnapshotMember{{Client: "d1", Addr: "h:4", Incarnation: 9}, {Client: "d2", Addr: "h:5", Incarnation: 9}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"db": 2}; !maps.Equal(o.size, want) {
		t.Fatalf("sizes after restore: %v, want %v", o.size, want)
	}
}
