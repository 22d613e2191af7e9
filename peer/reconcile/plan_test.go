package reconcile

import (
	"fmt"
	"slices"
	"testing"

	"roster/peer/fsm"
)

func TestVoters(t *testing.T) {
	cases := []struct {
		members     []int
		leader, max int
		want        []int
	}{
		{[]int{1}, 1, 5, []int{1}},
		{[]int{1, 2}, 1, 5, []int{1}},
		{[]int{1, 2}, 2, 5, []int{2}},
		{[]int{1, 2, 3}, 3, 5, []int{1, 2, 3}},
		{[]int{1, 2, 3, 4}, 4, 5, []int{1, 2, 4}},
		{[]int{1, 2, 3, 4, 5, 6, 7}, 7, 5, []int{1, 2, 3, 4, 7}},
		{[]int{1, 2, 3, 4, 5, 6, 7}, 2, 4, []int{1, 2, 3}},
		{[]int{2, 3, 4}, 3, 1, []int{3}},
		{nil, 1, 5, nil},
	}
	for _, c := range cases {
		if got := Voters(c.members, c.leader, c.max); !slices.Equal(got, c.want) {
			t.Errorf("Voters(%v, leader %d, max %d) = %v, want %v", c.members, c.leader, c.max, got, c.want)
		}
	}
}

// simulate applies steps to a model of the cluster until Next has nothing to
// do, and returns the steps taken.
func simulate(t *testing.T, s State) ([]Step, State) {
	t.Helper()
	var steps []Step
	for i := 0; ; i++ {
		if i > 500 {
			t.Fatalf("no fixed point after 500 steps: %v", steps)
		}
		st, ok := Next(s)
		if !ok {
			return steps, s
		}
		steps = append(steps, st)
		switch st.Kind {
		case Commit:
			if st.Change.Base != s.View.ID {
				t.Fatalf("change against view %d, current %d", st.Change.Base, s.View.ID)
			}
			set := map[int]bool{}
			for _, m := range s.View.Members {
				set[m] = true
			}
			for _, a := range st.Change.Add {
				set[a] = true
			}
			for _, d := range st.Change.Del {
				delete(set, d)
			}
			var m []int
			for id := range set {
				m = append(m, id)
			}
			slices.Sort(m)
			s.View = fsm.View{ID: s.View.ID + 1, Leader: st.Change.Leader, Members: m}
		case AddNonvoter, Promote, Demote:
			found := false
			for i := range s.Config {
				if s.Config[i].ID == st.Server.ID {
					s.Config[i].Addr = st.Server.Addr
					s.Config[i].Voter = st.Kind == Promote || (st.Kind == AddNonvoter && s.Config[i].Voter)
					found = true
				}
			}
			if !found {
				s.Config = append(s.Config, Server{ID: st.Server.ID, Addr: st.Server.Addr, Voter: st.Kind == Promote})
			}
		case Remove:
			s.Config = slices.DeleteFunc(s.Config, func(x Server) bool { return x.ID == st.Server.ID })
		}
	}
}

func voters(cfg []Server) []int {
	var v []int
	for _, s := range cfg {
		if s.Voter {
			v = append(v, s.ID)
		}
	}
	slices.Sort(v)
	return v
}

func alive(ids ...int) map[int]string {
	m := map[int]string{}
	for _, id := range ids {
		m[id] = fmt.Sprintf("10.0.0.%d:8080", id)
	}
	return m
}

func TestBootstrapAndJoins(t *testing.T) {
	s := State{Self: 1, Alive: alive(1), Config: []Server{{1, alive(1)[1], true}}, MaxVoters: 5}
	steps, s := simulate(t, s)
	if len(steps) != 1 || !s.View.Equal(fsm.View{ID: 1, Leader: 1, Members: []int{1}}) {
		t.Fatalf("bootstrap: steps %v view %+v", steps, s.View)
	}
	for n := 2; n <= 5; n++ {
		ids := []int{}
		for i := 1; i <= n; i++ {
			ids = append(ids, i)
		}
		s.Alive = alive(ids...)
		steps, s = simulate(t, s)
		// The joiner enters the configuration before the view that adds it.
		if steps[0].Kind != AddNonvoter || steps[1].Kind != Commit {
			t.Fatalf("join %d: steps %v", n, steps)
		}
		if s.View.ID != uint64(n) || !slices.Equal(s.View.Members, ids) {
			t.Fatalf("join %d: view %+v", n, s.View)
		}
		if got, want := voters(s.Config), Voters(ids, 1, 5); !slices.Equal(got, want) {
			t.Fatalf("join %d: voters %v want %v", n, got, want)
		}
	}
}

func TestCrashesDownToOne(t *testing.T) {
	all := []int{1, 2, 3, 4, 5}
	var cfg []Server
	for _, id := range all {
		cfg = append(cfg, Server{id, alive(id)[id], true})
	}
	s := State{Self: 1, View: fsm.View{ID: 5, Leader: 1, Members: all}, Alive: alive(all...), Config: cfg, MaxVoters: 5}
	for n := 4; n >= 1; n-- {
		s.Alive = alive(all[:n]...)
		steps, next := simulate(t, s)
		if steps[0].Kind != Commit || !slices.Equal(steps[0].Change.Del, []int{n + 1}) {
			t.Fatalf("crash of %d: first step %v", n+1, steps[0])
		}
		s = next
		if !slices.Equal(s.View.Members, all[:n]) || len(s.Config) != n {
			t.Fatalf("crash of %d: view %+v config %+v", n+1, s.View, s.Config)
		}
		if v := voters(s.Config); len(v)%2 != 1 {
			t.Fatalf("crash of %d: even voters %v", n+1, v)
		}
	}
	if s.View.ID != 9 {
		t.Fatalf("final view %+v, want id 9", s.View)
	}
}

func TestNewLeaderFinishesRemoval(t *testing.T) {
	// Leader 1 committed the removal of 5 and crashed: 3 is the new leader,
	// the configuration still holds 1 and 5.
	all := []int{1, 2, 3, 4, 5}
	var cfg []Server
	for _, id := range all {
		cfg = append(cfg, Server{id, alive(id)[id], true})
	}
	s := State{Self: 3, View: fsm.View{ID: 6, Leader: 1, Members: []int{1, 2, 3, 4}}, Alive: alive(2, 3, 4), Config: cfg, MaxVoters: 5}
	steps, s := simulate(t, s)
	if steps[0].Kind != Commit || !slices.Equal(steps[0].Change.Del, []int{1}) || steps[0].Change.Leader != 3 {
		t.Fatalf("first step %v", steps[0])
	}
	if !s.View.Equal(fsm.View{ID: 7, Leader: 3, Members: []int{2, 3, 4}}) || !slices.Equal(voters(s.Config), []int{2, 3, 4}) {
		t.Fatalf("view %+v config %+v", s.View, s.Config)
	}
}

func TestRestartedPeerNewAddress(t *testing.T) {
	s := State{Self: 1, View: fsm.View{ID: 3, Leader: 1, Members: []int{1, 2, 3}}, Alive: alive(1, 2, 3),
		Config: []Server{{1, alive(1)[1], true}, {2, alive(2)[2], true}, {3, "10.9.9.9:8080", true}}, MaxVoters: 5}
	steps, s := simulate(t, s)
	if len(steps) != 1 || steps[0].Kind != Promote || steps[0].Server.Addr != alive(3)[3] {
		t.Fatalf("steps %v", steps)
	}
	if s.View.ID != 3 {
		t.Fatalf("address change made a view: %+v", s.View)
	}
}

func TestBatchJoin(t *testing.T) {
	var ids []int
	for i := 1; i <= 100; i++ {
		ids = append(ids, i)
	}
	s := State{Self: 1, View: fsm.View{ID: 1, Leader: 1, Members: []int{1}}, Alive: alive(ids...), Config: []Server{{1, alive(1)[1], true}}, MaxVoters: 5}
	steps, s := simulate(t, s)
	commits := 0
	for _, st := range steps {
		if st.Kind == Commit {
			commits++
		}
	}
	if commits != 1 || s.View.ID != 2 || len(s.View.Members) != 100 || len(voters(s.Config)) != 5 {
		t.Fatalf("commits %d view %d members %d voters %v", commits, s.View.ID, len(s.View.Members), voters(s.Config))
	}
}

// TestRegisterFirst: peers outside the hostsfile are registered before any
// other step, from the next free id; a founder's own registration gives it
// id 1 in an empty cluster.
func TestRegisterFirst(t *testing.T) {
	s := State{Self: 1, Alive: map[int]string{1: "a:1"}, MaxVoters: 5, Guests: []string{"self", "x"}, NextID: 1}
	step, ok := Next(s)
	if !ok || step.Kind != Register || !slices.Equal(step.Register.Names, []string{"self", "x"}) || step.Register.First != 1 {
		t.Fatalf("Next = %v %v, want register [self x] from 1", step, ok)
	}
	if step.String() != "register [self x] from id 1" {
		t.Errorf("String() = %q", step.String())
	}
	s.View = fsm.View{ID: 3, Leader: 1, Members: []int{1}}
	s.Guests, s.NextID = []string{"y"}, 9
	if step, _ := Next(s); step.Kind != Register || step.Register.First != 9 {
		t.Fatalf("Next = %v, want register [y] from 9", step)
	}
	// No guests: the usual plan.
	s.Guests = nil
	if step, ok := Next(s); ok && step.Kind == Register {
		t.Fatalf("Next = %v with no guests", step)
	}
}
