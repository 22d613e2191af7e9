package fsm

import (
	"bytes"
	"io"
	"maps"
	"testing"

	"github.com/hashicorp/raft"
)

// FuzzApply feeds arbitrary log entries to an FSM holding a view: none may
// panic (groups entries included), and the view stays well formed (ascending members, ids from 1, the
// id moving by at most one per entry).
func FuzzApply(f *testing.F) {
	f.Add(Change{Base: 0, Add: []int{1}, Leader: 1, Cluster: "0123456789abcdef"}.Encode())
	f.Add(Change{Base: 2, Add: []int{3, 4}, Del: []int{2}, Leader: 1}.Encode())
	f.Add([]byte{byte(KindChange), '{', '}'})
	f.Add([]byte{7, 1, 2, 3})
	f.Add([]byte(nil))
	f.Add(Register{Names: []string{"x", "y"}, First: 9}.Encode())
	f.Add(Register{Names: []string{"a"}, First: 9}.Encode())
	f.Add([]byte{byte(KindRegister), '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := New(nil)
		m.ExpectCluster("0123456789abcdef", nil)
		for _, c := range []Change{{Base: 0, Add: []int{1, 2}, Leader: 1}, {Base: 1, Add: []int{3}, Leader: 2}} {
			m.Apply(&raft.Log{Type: raft.LogCommand, Data: c.Encode()})
		}
		m.Apply(&raft.Log{Type: raft.LogCommand, Data: Register{Names: []string{"a", "b"}, First: 4}.Encode()})
		namesBefore, nextBefore := m.Names(), m.NextID()
		defer func() {
			// The registry only grows: no name loses or changes its id,
			// and the next id never goes back.
			after := m.Names()
			for n, id := range namesBefore {
				if after[n] != id {
					t.Fatalf("%q had id %d, now %d", n, id, after[n])
				}
			}
			if m.NextID() < nextBefore || (registry{names: after, next: m.NextID()}).check() != nil {
				t.Fatalf("registry %v next %d after %v next %d", after, m.NextID(), namesBefore, nextBefore)
			}
		}()
		before := m.View()
		l := &raft.Log{Type: raft.LogCommand, Index: 3, Data: data}
		res, ok := m.Apply(l).(Result)
		after := m.View()
		if !ok {
			// A groups entry: the groups state answers it, the view stays.
			if !isGroups(l) || !after.Equal(before) {
				t.Fatalf("Apply of %q returned no Result, view %+v -> %+v", data, before, after)
			}
			return
		}
		if !res.View.Equal(after) {
			t.Fatalf("result view %+v, FSM view %+v", res.View, after)
		}
		if res.Err != nil && !after.Equal(before) {
			t.Fatalf("a refused entry changed the view: %+v -> %+v (%v)", before, after, res.Err)
		}
		if after.ID != before.ID && after.ID != before.ID+1 {
			t.Fatalf("view id jumped from %d to %d", before.ID, after.ID)
		}
		if !sortedUnique(after.Members) || !positive(after.Members) || m.Cluster() != "0123456789abcdef" {
			t.Fatalf("bad state: view %+v cluster %q", after, m.Cluster())
		}
	})
}

// FuzzRestore feeds arbitrary snapshots to Restore: none may panic, and a
// snapshot it accepts gives a well-formed view that survives a round trip.
func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"view":{"id":3,"leader":1,"members":[1,2,3]},"cluster":"0123456789abcdef"}`))
	f.Add([]byte(`{"view":{"id":1,"leader":1,"members":[1]}}`))
	f.Add([]byte(`{"view":{"id":0,"leader":0,"members":null}}`))
	f.Add([]byte(`{"view":{"members":[2,1]}}`))
	f.Add([]byte(`garbage`))
	f.Add([]byte(`{"view":{"id":1,"leader":1,"members":[1]},"names":{"a":2,"b":3},"next_id":4}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := New(nil)
		if err := m.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			return
		}
		v := m.View()
		if !sortedUnique(v.Members) || !positive(v.Members) || (m.Cluster() != "" && !ValidClusterID(m.Cluster())) {
			t.Fatalf("accepted a bad snapshot: view %+v cluster %q", v, m.Cluster())
		}
		snap, _ := m.Snapshot()
		var s sink
		if err := snap.Persist(&s); err != nil {
			t.Fatal(err)
		}
		g := New(nil)
		if err := g.Restore(io.NopCloser(bytes.NewReader(s.Bytes()))); err != nil || !g.View().Equal(v) || g.Cluster() != m.Cluster() ||
			!maps.Equal(g.Names(), m.Names()) || g.NextID() != m.NextID() {
			t.Fatalf("round trip of %+v: %v, got %+v", v, err, g.View())
		}
	})
}
