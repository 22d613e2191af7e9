package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestClusterIDLearnedFromFirstChange(t *testing.T) {
	id := NewClusterID()
	if !ValidClusterID(id) || NewClusterID() == id {
		t.Fatalf("NewClusterID gave %q (valid %v) twice", id, ValidClusterID(id))
	}
	f := New(nil)
	var learned []string
	f.ExpectCluster("", func(c string) { learned = append(learned, c) })
	if r := apply(t, f, Change{Base: 0, Add: []int{1}, Leader: 1, Cluster: id}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if f.Cluster() != id || len(learned) != 1 || learned[0] != id {
		t.Fatalf("cluster %q, learned %v, want %q once", f.Cluster(), learned, id)
	}
	// A snapshot carries the id; a fresh FSM restored from it learns it.
	var s sink
	snap, _ := f.Snapshot()
	if err := snap.Persist(&s); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(s.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if g.Cluster() != id {
		t.Fatalf("restored cluster %q, want %q", g.Cluster(), id)
	}
}

func TestForeignClusterRefused(t *testing.T) {
	mine, theirs := NewClusterID(), NewClusterID()
	f := New(nil)
	f.ExpectCluster(mine, nil)
	r := apply(t, f, Change{Base: 0, Add: []int{1, 2}, Leader: 2, Cluster: theirs})
	var fe *ForeignClusterError
	if !errors.As(r.Err, &fe) || fe.Have != mine || fe.Got != theirs {
		t.Fatalf("foreign first change: got %v, want a ForeignClusterError %s/%s", r.Err, mine, theirs)
	}
	if f.View().ID != 0 || f.Cluster() != mine {
		t.Fatalf("a foreign change was applied: view %+v cluster %q", f.View(), f.Cluster())
	}
	// Its own first change applies.
	if r := apply(t, f, Change{Base: 0, Add: []int{1}, Leader: 1, Cluster: mine}); r.Err != nil {
		t.Fatal(r.Err)
	}
	// A snapshot of the other cluster is refused and changes nothing.
	other := New(nil)
	apply(t, other, Change{Base: 0, Add: []int{3}, Leader: 3, Cluster: theirs})
	var s sink
	snap, _ := other.Snapshot()
	snap.Persist(&s)
	err := f.Restore(io.NopCloser(bytes.NewReader(s.Bytes())))
	if !errors.As(err, &fe) {
		t.Fatalf("foreign snapshot: got %v, want a ForeignClusterError", err)
	}
	if v := f.View(); v.ID != 1 || !v.Contains(1) {
		t.Fatalf("a foreign snapshot changed the view: %+v", v)
	}
}

func TestOldLogWithoutClusterID(t *testing.T) {
	// Clusters made before cluster ids: no id anywhere, everything applies.
	f := New(nil)
	if r := apply(t, f, Change{Base: 0, Add: []int{1}, Leader: 1}); r.Err != nil || f.Cluster() != "" {
		t.Fatalf("old first change: %+v, cluster %q", r, f.Cluster())
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte(`{"view":{"id":4,"leader":2,"members":[1,2]}}`)))); err != nil || g.View().ID != 4 {
		t.Fatalf("old snapshot: %v, view %+v", err, g.View())
	}
}

func TestDecodeRejectsMisplacedOrBadIDs(t *testing.T) {
	id := NewClusterID()
	for _, data := range []string{
		`{"base":3,"add":[4],"leader":1,"cluster":"` + id + `"}`, // id after the first view
		`{"base":0,"add":[1],"leader":1,"cluster":"XYZ"}`,        // not an id
		`{"base":0,"add":[0],"leader":1}`,                        // peer ids start at 1
		`{"base":0,"add":[1],"del":[-2],"leader":1}`,
		`{"base":0,"add":[1],"leader":0}`,
	} {
		if _, _, err := decode(append([]byte{byte(KindChange)}, data...)); err == nil {
			t.Errorf("decode(%s): want an error", data)
		}
	}
	for _, data := range []string{
		`{"view":{"id":2,"leader":1,"members":[2,1]}}`,
		`{"view":{"id":2,"leader":1,"members":[1,1]}}`,
		`{"view":{"id":0,"leader":0,"members":[1]}}`,
		`{"view":{"id":1,"leader":1,"members":[1]},"cluster":"nope"}`,
	} {
		if err := New(nil).Restore(io.NopCloser(bytes.NewReader([]byte(data)))); err == nil {
			t.Errorf("restore %s: want an error", data)
		}
	}
}
