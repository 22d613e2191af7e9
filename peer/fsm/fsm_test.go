package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
)

func apply(t *testing.T, f *FSM, c Change) Result {
	t.Helper()
	r, ok := f.Apply(&raft.Log{Type: raft.LogCommand, Data: c.Encode()}).(Result)
	if !ok {
		t.Fatalf("Apply did not return a Result")
	}
	return r
}

func TestApplySequence(t *testing.T) {
	var seen []View
	f := New(func(v View, restored bool) { seen = append(seen, v) })
	steps := []struct {
		c    Change
		want View
		err  error
	}{
		{Change{Base: 0, Add: []int{1}, Leader: 1}, View{ID: 1, Leader: 1, Members: []int{1}}, nil},
		{Change{Base: 1, Add: []int{3, 2}, Leader: 1}, View{ID: 2, Leader: 1, Members: []int{1, 2, 3}}, nil},
		{Change{Base: 1, Add: []int{4}, Leader: 1}, View{ID: 2, Leader: 1, Members: []int{1, 2, 3}}, ErrStale},
		{Change{Base: 2, Add: []int{2}, Leader: 1}, View{ID: 2, Leader: 1, Members: []int{1, 2, 3}}, ErrNoop},
		{Change{Base: 2, Del: []int{1}, Add: []int{5}, Leader: 3}, View{ID: 3, Leader: 3, Members: []int{2, 3, 5}}, nil},
	}
	for i, s := range steps {
		r := apply(t, f, s.c)
		if !errors.Is(r.Err, s.err) || !r.View.Equal(s.want) {
			t.Fatalf("step %d: got %+v, want view %+v err %v", i, r, s.want, s.err)
		}
	}
	if len(seen) != 3 || !seen[2].Equal(View{ID: 3, Leader: 3, Members: []int{2, 3, 5}}) {
		t.Fatalf("observer saw %+v", seen)
	}
	if !f.View().Contains(5) || f.View().Contains(1) {
		t.Fatalf("Contains wrong on %+v", f.View())
	}
}

func TestApplyGarbage(t *testing.T) {
	f := New(nil)
	for _, data := range [][]byte{nil, {9, 1, 2}, {byte(KindChange), '{'}} {
		r := f.Apply(&raft.Log{Type: raft.LogCommand, Data: data}).(Result)
		if r.Err == nil {
			t.Errorf("entry %v: want an error", data)
		}
	}
	if f.View().ID != 0 {
		t.Fatalf("garbage changed the view: %+v", f.View())
	}
}

type sink struct {
	bytes.Buffer
	cancelled bool
}

func (s *sink) ID() string    { return "test" }
func (s *sink) Cancel() error { s.cancelled = true; return nil }
func (s *sink) Close() error  { return nil }

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	f := New(nil)
	apply(t, f, Change{Base: 0, Add: []int{1, 2, 4}, Leader: 1})
	apply(t, f, Change{Base: 1, Del: []int{2}, Leader: 4})
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s sink
	if err := snap.Persist(&s); err != nil || s.cancelled {
		t.Fatalf("persist: %v cancelled=%v", err, s.cancelled)
	}
	var restored []View
	g := New(func(v View, r bool) {
		if r {
			restored = append(restored, v)
		}
	})
	if err := g.Restore(io.NopCloser(bytes.NewReader(s.Bytes()))); err != nil {
		t.Fatal(err)
	}
	want := View{ID: 2, Leader: 4, Members: []int{1, 4}}
	if !g.View().Equal(want) || len(restored) != 1 || !restored[0].Equal(want) {
		t.Fatalf("restored %+v (observer %+v), want %+v", g.View(), restored, want)
	}
	// The restored FSM goes on from the snapshot.
	if r := apply(t, g, Change{Base: 2, Add: []int{3}, Leader: 4}); r.Err != nil || r.View.ID != 3 {
		t.Fatalf("apply after restore: %+v", r)
	}
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte("garbage")))); err == nil {
		t.Fatal("restore of garbage: want an error")
	}
}
