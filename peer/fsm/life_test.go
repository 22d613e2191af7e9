package fsm

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"testing"

	"github.com/hashicorp/raft"
)

func TestLivesFollowAdmissionsAndRemovals(t *testing.T) {
	f := New(nil)
	apply(t, f, Change{Base: 0, Add: []int{1}, Lives: map[int]uint64{1: 11}, Leader: 1})
	r := apply(t, f, Change{Base: 1, Add: []int{2, 3}, Lives: map[int]uint64{2: 22, 3: 33}, Leader: 1})
	if want := map[int]uint64{1: 11, 2: 22, 3: 33}; !maps.Equal(r.View.Lives, want) {
		t.Fatalf("lives %v, want %v", r.View.Lives, want)
	}
	if !r.View.HasLife(2, 22) || r.View.HasLife(2, 23) || r.View.HasLife(4, 0) || r.View.LifeOf(4) != 0 {
		t.Fatalf("HasLife/LifeOf wrong on %+v", r.View)
	}
	// Removal forgets the life; re-admission records the new one.
	r = apply(t, f, Change{Base: 2, Del: []int{3}, Leader: 1})
	if _, ok := r.View.Lives[3]; ok || r.View.HasLife(3, 33) {
		t.Fatalf("removed member keeps its life: %+v", r.View)
	}
	r = apply(t, f, Change{Base: 3, Add: []int{3}, Lives: map[int]uint64{3: 34}, Leader: 1})
	if r.Err != nil || !r.View.HasLife(3, 34) || r.View.ID != 4 {
		t.Fatalf("re-admission: %+v", r)
	}
}

func TestRenewalMakesANewViewWithTheSameMembers(t *testing.T) {
	f := New(nil)
	apply(t, f, Change{Base: 0, Add: []int{1}, Lives: map[int]uint64{1: 11}, Leader: 1})
	apply(t, f, Change{Base: 1, Add: []int{2}, Lives: map[int]uint64{2: 22}, Leader: 1})
	// The same life again changes nothing.
	if r := apply(t, f, Change{Base: 2, Add: []int{1}, Lives: map[int]uint64{1: 11}, Leader: 1}); !errors.Is(r.Err, ErrNoop) {
		t.Fatalf("same life: %+v", r)
	}
	// An add without a life changes nothing either (a peer without lives).
	if r := apply(t, f, Change{Base: 2, Add: []int{1}, Leader: 1}); !errors.Is(r.Err, ErrNoop) {
		t.Fatalf("add without a life: %+v", r)
	}
	r := apply(t, f, Change{Base: 2, Add: []int{1}, Lives: map[int]uint64{1: 12}, Leader: 1})
	if r.Err != nil || r.View.ID != 3 || !r.View.HasLife(1, 12) || !r.View.HasLife(2, 22) || len(r.View.Members) != 2 {
		t.Fatalf("renewal: %+v", r)
	}
}

func TestEntriesWithoutLivesStillDecode(t *testing.T) {
	f := New(nil)
	// A change and a snapshot as written before lives existed.
	old := append([]byte{byte(KindChange)}, []byte(`{"base":0,"add":[1,2],"leader":1}`)...)
	r := f.Apply(&raft.Log{Type: raft.LogCommand, Data: old}).(Result)
	if r.Err != nil || r.View.ID != 1 || r.View.Lives != nil || r.View.HasLife(1, 0) {
		t.Fatalf("old change: %+v", r)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte(`{"view":{"id":7,"leader":2,"members":[2,3]}}`)))); err != nil {
		t.Fatal(err)
	}
	if v := g.View(); v.ID != 7 || v.Lives != nil || !v.Contains(3) {
		t.Fatalf("old snapshot: %+v", v)
	}
	// A peer renews its life over a view without lives.
	if r := apply(t, g, Change{Base: 7, Add: []int{2}, Lives: map[int]uint64{2: 5}, Leader: 2}); r.Err != nil || !r.View.HasLife(2, 5) {
		t.Fatalf("renewal over an old view: %+v", r)
	}
}

func TestSnapshotKeepsLives(t *testing.T) {
	f := New(nil)
	apply(t, f, Change{Base: 0, Add: []int{1, 2}, Lives: map[int]uint64{1: 1 << 52, 2: 9}, Leader: 1})
	snap, _ := f.Snapshot()
	var s sink
	if err := snap.Persist(&s); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(s.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if !g.View().Equal(f.View()) || !g.View().HasLife(1, 1<<52) {
		t.Fatalf("restored %+v, want %+v", g.View(), f.View())
	}
}

func TestCloneSharesNoLives(t *testing.T) {
	v := View{ID: 1, Members: []int{1}, Lives: map[int]uint64{1: 3}}
	c := v.Clone()
	c.Lives[1] = 4
	if v.Lives[1] != 3 {
		t.Fatal("Clone shares the lives map")
	}
}

func TestNewLife(t *testing.T) {
	seen := map[uint64]bool{}
	for range 1000 {
		l := NewLife()
		if l == 0 || l >= 1<<53 || seen[l] {
			t.Fatalf("life %d (seen before: %v)", l, seen[l])
		}
		seen[l] = true
	}
}
