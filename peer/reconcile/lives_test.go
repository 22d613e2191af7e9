package reconcile

import (
	"slices"
	"testing"

	"github.com/hashicorp/raft"

	"roster/peer/fsm"
)

// commitSteps plans from s and applies every Commit to a real FSM holding
// view, ignoring configuration steps (the configuration is kept complete),
// until there is nothing to commit. It returns the changes committed and
// the final view.
func commitSteps(t *testing.T, s State) ([]fsm.Change, fsm.View) {
	t.Helper()
	f := fsm.New(nil)
	// Rebuild s.View in f, admission by admission.
	var base uint64
	if s.View.ID > 0 {
		r := f.Apply(&raft.Log{Type: raft.LogCommand, Data: fsm.Change{Add: s.View.Members, Lives: s.View.Lives, Leader: s.View.Leader}.Encode()}).(fsm.Result)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		base = r.View.ID
	}
	s.View = f.View()
	for id, addr := range s.Alive {
		if !slices.ContainsFunc(s.Config, func(srv Server) bool { return srv.ID == id }) {
			s.Config = append(s.Config, Server{ID: id, Addr: addr, Voter: true})
		}
	}
	var changes []fsm.Change
	for i := 0; i < 20; i++ {
		st, ok := Next(s)
		if !ok || st.Kind != Commit {
			return changes, s.View
		}
		if st.Change.Base != s.View.ID || st.Change.Base < base {
			t.Fatalf("change against view %d, current %d", st.Change.Base, s.View.ID)
		}
		r := f.Apply(&raft.Log{Type: raft.LogCommand, Data: st.Change.Encode()}).(fsm.Result)
		if r.Err != nil {
			t.Fatalf("change %+v refused: %v", st.Change, r.Err)
		}
		changes = append(changes, st.Change)
		s.View = r.View
	}
	t.Fatalf("no fixed point: %+v", changes)
	return nil, fsm.View{}
}

func TestFirstViewRecordsTheLeadersLife(t *testing.T) {
	st, ok := Next(State{Self: 1, Alive: alive(1), Lives: map[int]uint64{1: 7}, MaxVoters: 5})
	if !ok || st.Kind != Commit || st.Change.Lives[1] != 7 {
		t.Fatalf("first step %+v", st)
	}
}

func TestRestartedMemberIsRemovedThenReadmitted(t *testing.T) {
	s := State{
		Self: 1, MaxVoters: 5, Alive: alive(1, 2, 3),
		View:  fsm.View{ID: 1, Leader: 1, Members: []int{1, 2, 3}, Lives: map[int]uint64{1: 10, 2: 20, 3: 30}},
		Lives: map[int]uint64{1: 10, 2: 20, 3: 31},
	}
	changes, v := commitSteps(t, s)
	if len(changes) != 2 || !slices.Equal(changes[0].Del, []int{3}) || len(changes[0].Add) != 0 ||
		!slices.Equal(changes[1].Add, []int{3}) || changes[1].Lives[3] != 31 {
		t.Fatalf("changes %+v, want del 3 then add 3 with life 31", changes)
	}
	if !v.HasLife(3, 31) || !v.HasLife(2, 20) || !slices.Equal(v.Members, []int{1, 2, 3}) {
		t.Fatalf("final view %+v", v)
	}
}

func TestLeaderRenewsItsOwnLifeInPlace(t *testing.T) {
	s := State{
		Self: 1, MaxVoters: 5, Alive: alive(1, 2),
		View:  fsm.View{ID: 1, Leader: 1, Members: []int{1, 2}, Lives: map[int]uint64{1: 10, 2: 20}},
		Lives: map[int]uint64{1: 11, 2: 20},
	}
	changes, v := commitSteps(t, s)
	if len(changes) != 1 || !slices.Equal(changes[0].Add, []int{1}) || len(changes[0].Del) != 0 {
		t.Fatalf("changes %+v, want one renewal of 1", changes)
	}
	if !v.HasLife(1, 11) || !slices.Equal(v.Members, []int{1, 2}) {
		t.Fatalf("final view %+v", v)
	}
}

func TestPeersWithoutLivesAreNotRenewed(t *testing.T) {
	// Views from before lives, peers announcing none: nothing to do.
	s := State{Self: 1, MaxVoters: 5, Alive: alive(1, 2), View: fsm.View{ID: 1, Leader: 1, Members: []int{1, 2}}}
	if changes, _ := commitSteps(t, s); len(changes) != 0 {
		t.Fatalf("changes %+v, want none", changes)
	}
	// A view from before lives, peers announcing one: the leader renews itself
	// and removes 2 at once, then re-admits 2.
	s.Lives = map[int]uint64{1: 10, 2: 20}
	changes, v := commitSteps(t, s)
	if len(changes) != 2 || !v.HasLife(1, 10) || !v.HasLife(2, 20) {
		t.Fatalf("changes %+v, final %+v", changes, v)
	}
}

// TestJoinerWaitsForItsAddress: a restarted container got the address of
// a crashed member that the configuration still holds. Raft refuses a second
// server at one address, so the joiner waits while the crashed member is
// removed from the view and the configuration, then enters.
func TestJoinerWaitsForItsAddress(t *testing.T) {
	s := State{
		Self: 2, MaxVoters: 5,
		Alive: map[int]string{2: "10.0.0.2:8080", 3: "10.0.0.1:8080", 4: "10.0.0.4:8080"},
		View:  fsm.View{ID: 6, Leader: 2, Members: []int{1, 2, 4}},
		Config: []Server{
			{ID: 1, Addr: "10.0.0.1:8080", Voter: true}, // crashed; 3 now has its address
			{ID: 2, Addr: "10.0.0.2:8080", Voter: true},
			{ID: 4, Addr: "10.0.0.4:8080", Voter: true},
		},
	}
	steps, end := simulate(t, s)
	if len(steps) == 0 || steps[0].Kind != Commit || !slices.Equal(steps[0].Change.Del, []int{1}) || len(steps[0].Change.Add) != 0 {
		t.Fatalf("first step %v, want the removal of 1 alone", steps)
	}
	if !slices.Equal(end.View.Members, []int{2, 3, 4}) {
		t.Fatalf("steps %v end on view %+v, want [2,3,4]", steps, end.View)
	}
	for _, srv := range end.Config {
		if srv.ID == 1 {
			t.Fatalf("1 is still configured: %+v", end.Config)
		}
	}
}
