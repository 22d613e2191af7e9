package fsm

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

func register(f *FSM, r Register) Result {
	return f.Apply(&raft.Log{Type: raft.LogCommand, Data: r.Encode()}).(Result)
}

func TestRegisterGivesIDsOnce(t *testing.T) {
	f := New(nil)
	var told []map[string]int
	f.OnNames(func(m map[string]int) { told = append(told, m) })
	if f.NextID() != 1 {
		t.Fatalf("empty registry: next id %d, want 1", f.NextID())
	}
	steps := []struct {
		r    Register
		err  error
		next int
	}{
		// A cluster whose hostsfile has five lines registers from 6.
		{Register{Names: []string{"a", "b"}, First: 6}, nil, 8},
		// Stale: a name taken, or an id below the next one.
		{Register{Names: []string{"c", "a"}, First: 8}, ErrRegistered, 8},
		{Register{Names: []string{"c"}, First: 7}, ErrRegistered, 8},
		// Ids may skip (a leader whose hostsfile is longer), never go back.
		{Register{Names: []string{"c"}, First: 10}, nil, 11},
	}
	for i, s := range steps {
		res := register(f, s.r)
		if !errors.Is(res.Err, s.err) || f.NextID() != s.next {
			t.Fatalf("step %d: err %v next %d, want %v %d", i, res.Err, f.NextID(), s.err, s.next)
		}
	}
	want := map[string]int{"a": 6, "b": 7, "c": 10}
	if !maps.Equal(f.Names(), want) {
		t.Fatalf("names %v, want %v", f.Names(), want)
	}
	if len(told) != 2 || !maps.Equal(told[1], want) {
		t.Fatalf("OnNames told %v", told)
	}
	if f.View().ID != 0 {
		t.Fatalf("a registration changed the view: %+v", f.View())
	}
}

func TestRegisterRefusesBadEntries(t *testing.T) {
	for _, body := range []string{
		`{`, `{"names":[],"first":1}`, `{"names":["a"],"first":0}`, `{"names":["a","a"],"first":1}`,
		`{"names":["bad name"],"first":1}`, `{"names":[""],"first":1}`, `{"names":["a"],"first":2000000000}`,
		`{"names":["` + strings.Repeat("x", 300) + `"],"first":1}`,
	} {
		f := New(nil)
		res := f.Apply(&raft.Log{Type: raft.LogCommand, Data: append([]byte{byte(KindRegister)}, body...)}).(Result)
		if res.Err == nil || len(f.Names()) != 0 || f.NextID() != 1 {
			t.Errorf("entry %s: err %v, names %v", body, res.Err, f.Names())
		}
	}
}

func TestRegistrySnapshotRoundTrip(t *testing.T) {
	f := New(nil)
	apply(t, f, Change{Base: 0, Add: []int{1}, Leader: 1})
	register(f, Register{Names: []string{"x", "y"}, First: 2})
	snap, _ := f.Snapshot()
	var s sink
	if err := snap.Persist(&s); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	var told map[string]int
	g.OnNames(func(m map[string]int) { told = m })
	if err := g.Restore(io.NopCloser(bytes.NewReader(s.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(g.Names(), f.Names()) || g.NextID() != 4 || !maps.Equal(told, f.Names()) {
		t.Fatalf("restored names %v next %d told %v, want %v next 4", g.Names(), g.NextID(), told, f.Names())
	}
	// The restored registry still refuses ids given before.
	if res := register(g, Register{Names: []string{"z"}, First: 3}); !errors.Is(res.Err, ErrRegistered) {
		t.Fatalf("id 3 given again after a restore: %v", res.Err)
	}
	// A snapshot made before the registry existed restores an empty one.
	old := New(nil)
	if err := old.Restore(io.NopCloser(strings.NewReader(`{"view":{"id":1,"leader":1,"members":[1]}}`))); err != nil {
		t.Fatal(err)
	}
	if len(old.Names()) != 0 || old.NextID() != 1 {
		t.Fatalf("old snapshot: names %v next %d", old.Names(), old.NextID())
	}
}

func TestRestoreRefusesBadRegistry(t *testing.T) {
	for _, snap := range []string{
		`{"view":{"id":0,"members":null},"names":{"a":3},"next_id":3}`,
		`{"view":{"id":0,"members":null},"names":{"a":1,"b":1},"next_id":3}`,
		`{"view":{"id":0,"members":null},"names":{"a b":1},"next_id":3}`,
		`{"view":{"id":0,"members":null},"names":{"a":0},"next_id":3}`,
	} {
		if err := New(nil).Restore(io.NopCloser(strings.NewReader(snap))); err == nil {
			t.Errorf("accepted %s", snap)
		}
	}
}
