package reconcile

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"roster/internal/testkit"
	"roster/peer/fsm"
)

// TestUnseenMemberKept: a view member missing from Alive that the loop marks
// unseen (no evidence against it) is neither removed from the view nor
// reconfigured, and the voters wait; a member missing with evidence is
// still removed in the same step.
func TestUnseenMemberKept(t *testing.T) {
	all := []int{1, 2, 3, 4}
	var cfg []Server
	for _, id := range all {
		cfg = append(cfg, Server{id, alive(id)[id], id != 4})
	}
	s := State{
		Self: 1, View: fsm.View{ID: 7, Leader: 1, Members: all}, Alive: alive(1, 4), Config: cfg, MaxVoters: 5,
		Unseen: map[int]bool{2: true},
	}
	steps, end := simulate(t, s)
	if len(steps) == 0 || steps[0].Kind != Commit || !slices.Equal(steps[0].Change.Del, []int{3}) {
		t.Fatalf("steps %v, want first a commit removing 3 alone", steps)
	}
	if !slices.Equal(end.View.Members, []int{1, 2, 4}) {
		t.Fatalf("view %v, want [1 2 4] (2 unseen, kept)", end.View.Members)
	}
	for _, st := range steps {
		if st.Server.ID == 2 || st.Kind == Promote || st.Kind == Demote {
			t.Fatalf("step %v while 2 is unseen", st)
		}
	}
	// Seen again (the same address): nothing to do for it; gone for good
	// (its grace ended): removed.
	end.Unseen, end.Alive = nil, alive(1, 2, 4)
	if steps, _ := simulate(t, end); slices.ContainsFunc(steps, func(st Step) bool { return st.Kind == Commit }) {
		t.Fatalf("steps %v once 2 is seen again, want no view change", steps)
	}
	end.Alive = alive(1, 4)
	steps, end = simulate(t, end)
	if steps[0].Kind != Commit || !slices.Equal(steps[0].Change.Del, []int{2}) || !slices.Equal(end.View.Members, []int{1, 4}) {
		t.Fatalf("steps %v view %v, want 2 removed once its grace ended", steps, end.View.Members)
	}
}

// fakeGone is the evidence of failure detection (Loop.Gone), settable.
type fakeGone struct {
	mu   sync.Mutex
	gone map[int]uint64
}

func (g *fakeGone) get() map[int]uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.gone)
}

func (g *fakeGone) set(id int, life uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gone[id] = life
}

// TestLoopRemovesOnlyOnEvidence: with Gone set, a leader removes at once a
// member confirmed down in the life the view holds it with; a member it
// does not see, with no evidence or evidence about an earlier life (it left
// and came back at a new address this leader has not heard of), stays in
// the view until it is seen, or until its grace ends.
func TestLoopRemovesOnlyOnEvidence(t *testing.T) {
	r := newFakeRaft(t, 1)
	m := newFakeMembers(1, 2, 3, 4)
	g := &fakeGone{gone: map[int]uint64{}}
	const grace = 2 * time.Second
	l := &Loop{
		Raft: r, Self: 1, View: r.fsm.View, Members: m, MaxVoters: 5, Tick: 50 * time.Millisecond,
		Logger: hclog.NewNullLogger(), Gone: g.get, Grace: grace,
		Lives: func() map[int]uint64 { return map[int]uint64{1: 11, 2: 12, 3: 13, 4: 14} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	testkit.Eventually(t, deadline, "view [1,2,3,4]", func() bool { return slices.Equal(r.view().Members, []int{1, 2, 3, 4}) })
	base := r.view().ID

	// 2 left in an earlier life (evidence about life 2, the view holds 12)
	// and 3 crashed (confirmed down in life 13); 4 is not seen, no evidence.
	g.set(2, 2)
	g.set(3, 13)
	missing := time.Now() // no grace can have started before
	m.set(1)
	testkit.Eventually(t, deadline, "3 removed", func() bool { return !r.view().Contains(3) })
	if v := r.view(); v.ID != base+1 || !slices.Equal(v.Members, []int{1, 2, 4}) {
		t.Fatalf("view %d %v after 3's crash, want %d [1 2 4]: 2 and 4 have no evidence against them", v.ID, v.Members, base+1)
	}
	m.set(1, 4) // 4 is seen again
	// 2 is never seen: removed once its grace ends, not before.
	testkit.Eventually(t, deadline+grace, "2 removed after its grace", func() bool { return !r.view().Contains(2) })
	if waited := time.Since(missing); waited < grace {
		t.Fatalf("2 removed %v after it went missing, want its grace (%v) first", waited, grace)
	}
	if v := r.view(); !slices.Equal(v.Members, []int{1, 4}) || v.ID != base+2 {
		t.Fatalf("view %d %v, want %d [1 4]", v.ID, v.Members, base+2)
	}
}
