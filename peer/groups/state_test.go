package groups

import (
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func encode(t *testing.T, ops ...Op) []byte {
	t.Helper()
	b, err := Batch{Ops: ops}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func join(g, c, addr string) Op { return Op{Kind: OpJoin, Group: g, Client: c, Addr: addr} }

func clients(t *testing.T, s *State, g string) []string {
	t.Helper()
	v, _, _ := s.Group(g)
	if v == nil {
		return nil
	}
	return v.Clients()
}

func TestJoinLeaveExpire(t *testing.T) {
	s := NewState()
	r := s.Apply(10, encode(t, join("jobs", "c2", "h:2"), join("jobs", "c1", "h:1"), join("other", "x", "h:9")))
	if r.Err != nil || len(r.Ops) != 3 || r.Ops[0].Incarnation != 10 || !r.Ops[1].Changed {
		t.Fatalf("join batch: %+v", r)
	}
	v, idx, _ := s.Group("jobs")
	if v.Index != 10 || idx != 10 || !slices.Equal(v.Clients(), []string{"c1", "c2"}) {
		t.Fatalf("jobs after joins: %+v (list index %d)", v, idx)
	}
	if m, ok := v.Find("c2"); !ok || m.Addr != "h:2" || m.Incarnation != 10 {
		t.Fatalf("Find c2: %+v %v", m, ok)
	}

	// c1 restarts: a new incarnation replaces the old one.
	r = s.Apply(11, encode(t, join("jobs", "c1", "h:1b")))
	if r.Ops[0].Incarnation != 11 {
		t.Fatalf("rejoin: %+v", r)
	}
	// A late expire of the old incarnation changes nothing, not even the index.
	r = s.Apply(12, encode(t, Op{Kind: OpExpire, Group: "jobs", Client: "c1", Incarnation: 10}))
	if r.Ops[0].Changed {
		t.Fatalf("late expire of an old incarnation changed the group: %+v", r)
	}
	if v, _, _ := s.Group("jobs"); v.Index != 11 || !slices.Equal(v.Clients(), []string{"c1", "c2"}) {
		t.Fatalf("after late expire: %+v", v)
	}
	// So does a leave naming an old incarnation.
	if r = s.Apply(13, encode(t, Op{Kind: OpLeave, Group: "jobs", Client: "c1", Incarnation: 10})); r.Ops[0].Changed {
		t.Fatalf("leave of an old incarnation: %+v", r)
	}
	// The expire of the current incarnation removes it.
	r = s.Apply(14, encode(t, Op{Kind: OpExpire, Group: "jobs", Client: "c1", Incarnation: 11, By: 2}))
	if !r.Ops[0].Changed || r.Ops[0].Incarnation != 11 {
		t.Fatalf("expire: %+v", r)
	}
	// A leave without an incarnation removes whatever life is there; twice is fine.
	r = s.Apply(15, encode(t, Op{Kind: OpLeave, Group: "jobs", Client: "c2"}, Op{Kind: OpLeave, Group: "jobs", Client: "c2"}))
	if !r.Ops[0].Changed || r.Ops[1].Changed {
		t.Fatalf("leave twice: %+v", r)
	}
	// An empty group is gone; the list keeps the other.
	if v, idx, _ := s.Group("jobs"); v != nil || idx != 15 {
		t.Fatalf("empty group still served: %+v, index %d", v, idx)
	}
	list, idx, _ := s.List()
	if idx != 15 || len(list) != 1 || list["other"] != (Summary{Index: 10, Size: 1}) {
		t.Fatalf("list: %+v index %d", list, idx)
	}
	if g, c := s.Size(); g != 1 || c != 1 {
		t.Fatalf("size %d groups %d clients", g, c)
	}
	if a, _ := s.Applied(); a != 15 {
		t.Fatalf("applied %d", a)
	}
}

func TestApplyRefusesGarbage(t *testing.T) {
	s := NewState()
	for i, data := range [][]byte{nil, {EntryKind}, {EntryKind, '{'}, []byte("x{}")} {
		if r := s.Apply(uint64(i+1), data); r.Err == nil {
			t.Errorf("entry %q: want an error", data)
		}
	}
	long := string(make([]byte, 200))
	r := s.Apply(9, encode(t,
		Op{Kind: OpJoin, Group: "g", Client: "c"},   // no address
		Op{Kind: OpExpire, Group: "g", Client: "c"}, // no incarnation
		Op{Kind: 77, Group: "g", Client: "c"},
		join("", "c", "h:1"),
		join("g", long, "h:1"),
		join("g", "ok", "h:1"),
	))
	for i := 0; i < 5; i++ {
		if r.Ops[i].Err == nil || r.Ops[i].Changed {
			t.Errorf("op %d: want refused, got %+v", i, r.Ops[i])
		}
	}
	if r.Ops[5].Err != nil || !slices.Equal(clients(t, s, "g"), []string{"ok"}) {
		t.Fatalf("the valid op of the batch: %+v, members %v", r.Ops[5], clients(t, s, "g"))
	}
}

func TestWaitersWake(t *testing.T) {
	s := NewState()
	s.Apply(4, encode(t, join("other", "x", "h:9")))
	_, _, jobs := s.Group("jobs") // unknown yet: wakes at any change
	_, _, other := s.Group("other")
	_, _, any := s.List()
	_, applied := s.Applied()
	s.Apply(5, encode(t, join("jobs", "c1", "h:1")))
	for name, ch := range map[string]<-chan struct{}{"jobs": jobs, "list": any, "applied": applied} {
		select {
		case <-ch:
		default:
			t.Errorf("%s waiter not woken by a change of jobs", name)
		}
	}
	select {
	case <-other:
		t.Error("a waiter of another group woke")
	default:
	}
	// Emptying a group wakes its waiters.
	_, _, other = s.Group("other")
	s.Apply(6, encode(t, Op{Kind: OpLeave, Group: "other", Client: "x"}))
	select {
	case <-other:
	default:
		t.Error("the waiter of a group that lost its last member did not wake")
	}
	// An entry that changes nothing wakes only applied-index waiters.
	_, _, jobs = s.Group("jobs")
	_, _, any = s.List()
	_, applied = s.Applied()
	s.Apply(7, encode(t, Op{Kind: OpLeave, Group: "jobs", Client: "nobody"}))
	select {
	case <-jobs:
		t.Error("a no-op woke the group's waiters")
	case <-any:
		t.Error("a no-op woke the list's waiters")
	case <-applied:
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := NewState()
	s.Apply(3, encode(t, join("jobs", "c1", "h:1"), Op{Kind: OpJoin, Group: "jobs", Client: "c2", Addr: "http://h:2/", Meta: json.RawMessage(`{"zone":"a"}`)}))
	s.Apply(4, encode(t, join("web", "w", "h:3")))
	s.Apply(5, encode(t, Op{Kind: OpLeave, Group: "web", Client: "nobody"}))
	raw, err := json.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	r := NewState()
	_, _, waiting := r.Group("jobs")
	if err := r.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waiting:
	default:
		t.Error("restore did not wake a waiter")
	}
	for _, name := range []string{"jobs", "web"} {
		a, ai, _ := s.Group(name)
		b, bi, _ := r.Group(name)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) || ai != bi {
			t.Errorf("group %s: restored %s (index %d), want %s (index %d)", name, jb, bi, ja, ai)
		}
	}
	if a, _ := r.Applied(); a != 5 {
		t.Errorf("restored applied index %d, want 5", a)
	}
	// The restored state goes on: the old incarnation's expire is a no-op.
	if res := r.Apply(6, encode(t, Op{Kind: OpExpire, Group: "jobs", Client: "c1", Incarnation: 2})); res.Ops[0].Changed {
		t.Error("expire of a wrong incarnation after restore changed the group")
	}
	if res := r.Apply(7, encode(t, Op{Kind: OpExpire, Group: "jobs", Client: "c1", Incarnation: 3})); !res.Ops[0].Changed {
		t.Error("expire of the restored incarnation did nothing")
	}
	// Restoring nothing empties the state; a broken snapshot is refused whole.
	if err := r.Restore(nil); err != nil || clients(t, r, "jobs") != nil {
		t.Fatalf("restore nil: %v, jobs %v", err, clients(t, r, "jobs"))
	}
	bad := Snapshot{Groups: map[string]SnapshotGroup{"g": {Index: 1, Members: []SnapshotMember{{Client: "c"}}}}}
	if err := r.Restore(&bad); err == nil {
		t.Fatal("restore of a member without an incarnation: want an error")
	}
}

// TestJoinRequestOnce checks that a join repeating the request of the
// client's current incarnation (a join tried again after its answer was
// lost) changes nothing and answers that incarnation, while a new request
// starts a new life, and that the request survives a snapshot.
func TestJoinRequestOnce(t *testing.T) {
	s := NewState()
	j := join("jobs", "c1", "h:1")
	j.Request = "2-a"
	if r := s.Apply(5, encode(t, j)); r.Ops[0].Incarnation != 5 || !r.Ops[0].Changed {
		t.Fatalf("first join: %+v", r)
	}
	if r := s.Apply(6, encode(t, j)); r.Ops[0].Incarnation != 5 || r.Ops[0].Changed {
		t.Fatalf("the same request again: %+v, want incarnation 5, unchanged", r)
	}
	if v, idx, _ := s.Group("jobs"); v.Index != 5 || idx != 5 {
		t.Fatalf("the repeated request moved the group to %d (list %d)", v.Index, idx)
	}
	restored := NewState()
	if err := restored.Restore(ptr(s.Snapshot())); err != nil {
		t.Fatal(err)
	}
	if r := restored.Apply(7, encode(t, j)); r.Ops[0].Incarnation != 5 || r.Ops[0].Changed {
		t.Fatalf("the same request after a restore: %+v", r)
	}
	j.Request = "2-b"
	if r := s.Apply(8, encode(t, j)); r.Ops[0].Incarnation != 8 || !r.Ops[0].Changed {
		t.Fatalf("a new request: %+v, want a new life at 8", r)
	}
}

func ptr[T any](v T) *T { return &v }

// Readers that race for a state's answer build it once: a change wakes
// every watcher of the group at once, and each would otherwise encode it.
func TestMemoBuildsOncePerKey(t *testing.T) {
	v := &GroupView{Name: "g", Index: 7}
	var builds atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := v.Memo(1, func() any {
				builds.Add(1)
				<-release // every other reader arrives meanwhile
				return "answer"
			})
			if got != "answer" {
				t.Errorf("Memo = %v", got)
			}
		}()
	}
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("built %d times for one key, want once", n)
	}
	if v.Memo(2, func() any { builds.Add(1); return "other" }) != "other" || builds.Load() != 2 {
		t.Fatal("a new key was not built")
	}
}
