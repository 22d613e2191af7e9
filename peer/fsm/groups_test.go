package fsm

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/hashicorp/raft"

	"roster/peer/groups"
)

func applyGroups(t *testing.T, f *FSM, index uint64, ops ...groups.Op) groups.Result {
	t.Helper()
	data, err := groups.Batch{Ops: ops}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).(groups.Result)
	if !ok {
		t.Fatalf("Apply of a groups entry did not return a groups.Result")
	}
	return r
}

// TestGroupsInSnapshot: the FSM's snapshot carries the groups beside the
// view, and a restored FSM serves the same groups at the same indexes.
func TestGroupsInSnapshot(t *testing.T) {
	f := New(nil)
	apply(t, f, Change{Base: 0, Add: []int{1, 2}, Leader: 1})
	if r := applyGroups(t, f, 7, groups.Op{Kind: groups.OpJoin, Group: "jobs", Client: "c1", Addr: "h:1"}); r.Ops[0].Incarnation != 7 {
		t.Fatalf("join: %+v", r)
	}
	applyGroups(t, f, 8, groups.Op{Kind: groups.OpJoin, Group: "jobs", Client: "c2", Addr: "h:2"})
	if f.View().ID != 1 {
		t.Fatalf("a groups entry changed the view: %+v", f.View())
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s sink
	if err := snap.Persist(&s); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(s.Bytes()))); err != nil {
		t.Fatal(err)
	}
	v, idx, _ := g.Groups().Group("jobs")
	if v == nil || v.Index != 8 || idx != 8 || !slices.Equal(v.Clients(), []string{"c1", "c2"}) {
		t.Fatalf("restored jobs: %+v (index %d)", v, idx)
	}
	if m, _ := v.Find("c1"); m.Incarnation != 7 || m.Addr != "h:1" {
		t.Fatalf("restored c1: %+v", m)
	}
	if !g.View().Equal(f.View()) {
		t.Fatalf("restored view %+v, want %+v", g.View(), f.View())
	}
	// A snapshot written before groups existed restores with none.
	h := New(nil)
	applyGroups(t, h, 3, groups.Op{Kind: groups.OpJoin, Group: "jobs", Client: "c1", Addr: "h:1"})
	if err := h.Restore(io.NopCloser(bytes.NewReader([]byte(`{"view":{"id":1,"leader":1,"members":[1]}}`)))); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := h.Groups().Group("jobs"); v != nil || h.View().ID != 1 {
		t.Fatalf("restore of an old snapshot: groups %+v view %+v", v, h.View())
	}
}
