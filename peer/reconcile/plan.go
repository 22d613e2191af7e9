// Package reconcile is the leader's control loop: it compares the peers that
// failure detection sees alive with the committed view and the Raft
// configuration, and takes one step at a time to make them agree. It is
// level-triggered: each step is computed from the current state alone, so a
// new leader finishes whatever its predecessor left half done.
package reconcile

import (
	"fmt"
	"slices"

	"roster/peer/fsm"
)

// Server is one member of the Raft configuration, by peer id.
type Server struct {
	// ID is the peer id.
	ID int
	// Addr is the server's Raft address.
	Addr string
	// Voter is whether the server votes.
	Voter bool
}

// State is what the leader knows when it plans a step.
type State struct {
	// Self is the leader's peer id.
	Self int
	// View is the committed view.
	View fsm.View
	// Alive maps the ids of hostsfile peers that failure detection sees
	// alive (the leader included) to their Raft addresses.
	Alive map[int]string
	// Config is the current Raft configuration.
	Config []Server
	// MaxVoters is the odd cap on voters.
	MaxVoters int
	// Guests are the alive peers the registry has no id for yet (the
	// leader's own name first, if it is one); NextID the id a
	// registration of them starts at.
	Guests []string
	NextID int
	// Lives maps alive peers to the life number they announce (absent:
	// none). A member announcing another life than the view's restarted:
	// its old life is removed, then the new one admitted (the leader renews
	// its own life in place).
	Lives map[int]uint64
	// Left holds the peers that left gracefully (absent: crashed, or not
	// known). A leaver stays until the configuration has it no longer as a
	// voter, so its vote still counts while the others are taken out.
	Left map[int]bool
	// Unseen holds view members missing from Alive that failure detection
	// has no evidence against (no direct check confirmed them down, they
	// did not leave) and that still have time to be seen (Loop.Grace): a
	// new leader's memberlist may not know yet where a peer that moved
	// is. They are neither removed from the view nor reconfigured, and
	// the voters are not rebalanced meanwhile.
	Unseen map[int]bool
}

// Kind is the kind of a step.
type Kind int

// Kinds of step, in the order the planner prefers them.
const (
	// Commit commits a view change through the Raft log.
	Commit Kind = iota + 1
	// AddNonvoter adds a server to the Raft configuration as a non-voter,
	// or updates its address.
	AddNonvoter
	// Promote makes a non-voter a voter.
	Promote
	// Demote makes a voter a non-voter.
	Demote
	// Remove removes a server from the Raft configuration.
	Remove
	// Register gives ids to peers outside the hostsfile (fsm.Register).
	Register
)

// String names the kind as the loop's log lines do.
func (k Kind) String() string {
	switch k {
	case Commit:
		return "commit"
	case AddNonvoter:
		return "add-nonvoter"
	case Promote:
		return "promote"
	case Demote:
		return "demote"
	case Remove:
		return "remove"
	case Register:
		return "register"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Step is one action of the leader.
type Step struct {
	// Kind is what the step does.
	Kind Kind
	// Change is the view change, for Commit.
	Change fsm.Change
	// Server is the server concerned, for the configuration steps.
	Server Server
	// Register is the registration, for Register.
	Register fsm.Register
}

// String describes the step for the loop's log lines.
func (s Step) String() string {
	if s.Kind == Register {
		return fmt.Sprintf("register %v from id %d", s.Register.Names, s.Register.First)
	}
	if s.Kind == Commit {
		return fmt.Sprintf("commit view %d+1: add %v del %v", s.Change.Base, s.Change.Add, s.Change.Del)
	}
	return fmt.Sprintf("%s %d (%s)", s.Kind, s.Server.ID, s.Server.Addr)
}

// Next returns the next step that brings the cluster closer to the desired
// state, or false when there is nothing to do. Next is a pure function.
//
// Order: joiners enter the Raft configuration as non-voters first, so they
// receive the entry that adds them as soon as the others do; then one view
// change adds every joiner and removes every dead member at once; then the
// configuration follows the view (stale servers removed, addresses updated);
// last the voters are rebalanced to the odd-voter policy.
func Next(s State) (Step, bool) {
	if len(s.Guests) > 0 {
		// Peers outside the hostsfile get their ids first (they wait for
		// them before they start Raft).
		return Step{Kind: Register, Register: fsm.Register{Names: s.Guests, First: max(s.NextID, 1)}}, true
	}
	if s.View.ID == 0 {
		self := []int{s.Self}
		return Step{Kind: Commit, Change: fsm.Change{Base: 0, Add: self, Lives: lives(s, self), Leader: s.Self}}, true
	}
	cfg := make(map[int]Server, len(s.Config))
	for _, srv := range s.Config {
		cfg[srv.ID] = srv
	}

	var add, del []int
	for id := range s.Alive {
		if !s.View.Contains(id) {
			add = append(add, id)
		}
	}
	for _, id := range s.View.Members {
		if _, ok := s.Alive[id]; !ok && id != s.Self {
			if !s.Unseen[id] {
				del = append(del, id)
			}
		} else if ok && restarted(s, id) {
			if id == s.Self {
				add = append(add, id)
			} else {
				del = append(del, id)
			}
		}
	}
	slices.Sort(add)
	ready := add[:0:0]
	for _, id := range add {
		if srv, ok := cfg[id]; !ok || srv.Addr != s.Alive[id] {
			if addrTaken(s, id, s.Alive[id]) {
				continue // wait until the configuration lets go of the address
			}
			return Step{Kind: AddNonvoter, Server: Server{ID: id, Addr: s.Alive[id]}}, true
		}
		ready = append(ready, id)
	}
	add = ready
	if len(add) > 0 || len(del) > 0 {
		return Step{Kind: Commit, Change: fsm.Change{Base: s.View.ID, Add: add, Del: del, Lives: lives(s, add), Leader: s.Self}}, true
	}

	// The view matches the live peers; make the configuration match the
	// view. Crashed servers go first, graceful leavers (still voting until
	// they are out) last.
	for _, leavers := range []bool{false, true} {
		for _, srv := range s.Config {
			if !s.View.Contains(srv.ID) && srv.ID != s.Self && s.Left[srv.ID] == leavers {
				if d, ok := demoteFirst(s, srv); ok {
					return d, true
				}
				return Step{Kind: Remove, Server: srv}, true
			}
		}
	}
	for _, id := range s.View.Members {
		addr, seen := s.Alive[id]
		if !seen {
			continue // unseen: its address is not known here
		}
		if srv, ok := cfg[id]; (!ok || srv.Addr != addr) && id != s.Self && !addrTaken(s, id, addr) {
			if ok && srv.Voter {
				// Re-adding a voter with its new address keeps it a voter.
				return Step{Kind: Promote, Server: Server{ID: id, Addr: addr, Voter: true}}, true
			}
			return Step{Kind: AddNonvoter, Server: Server{ID: id, Addr: addr}}, true
		}
	}
	if len(s.Unseen) > 0 {
		return Step{}, false // the voters follow the view once it is settled
	}
	return rebalance(s, cfg)
}

// demoteFirst returns the demotion to take before removing the leaver gone,
// a voter, if removing it would leave an even number of voters: a member
// the odd-voter policy does not want (the highest id) votes no more while
// gone still does. Removing first would need as many votes from fewer
// voters: when the leader crashes during a leave and another member crashes
// (test case 4 with a docker restart of four), the two left are then no
// majority of four voters, where they are one of the three voters that
// demoting first leaves.
func demoteFirst(s State, gone Server) (Step, bool) {
	if !gone.Voter || !s.Left[gone.ID] {
		return Step{}, false
	}
	var voters []int
	for _, srv := range s.Config {
		if srv.Voter {
			voters = append(voters, srv.ID)
		}
	}
	if rest := len(voters) - 1; rest <= 0 || rest%2 == 1 {
		return Step{}, false
	}
	slices.Sort(voters)
	wanted := Voters(s.View.Members, s.Self, s.MaxVoters)
	for i := len(voters) - 1; i >= 0; i-- {
		id := voters[i]
		if id != s.Self && s.View.Contains(id) && !slices.Contains(wanted, id) {
			for _, srv := range s.Config {
				if srv.ID == id {
					return Step{Kind: Demote, Server: srv}, true
				}
			}
		}
	}
	return Step{}, false
}

// addrTaken reports whether another server of the configuration has addr:
// Raft refuses a second server at one address. A restarted container may
// get the address of one that crashed and is still configured: the joiner
// waits until the view drops the crashed one and the configuration follows.
func addrTaken(s State, id int, addr string) bool {
	for _, srv := range s.Config {
		if srv.ID != id && srv.Addr == addr {
			return true
		}
	}
	return false
}

// restarted reports whether member id announces another life than the one
// the view admitted it with.
func restarted(s State, id int) bool {
	l := s.Lives[id]
	return l != 0 && l != s.View.LifeOf(id)
}

// lives returns the announced life numbers of ids (nil when none announce one).
func lives(s State, ids []int) map[int]uint64 {
	var out map[int]uint64
	for _, id := range ids {
		if l := s.Lives[id]; l != 0 {
			if out == nil {
				out = map[int]uint64{}
			}
			out[id] = l
		}
	}
	return out
}

// rebalance returns the next promotion or demotion towards Voters().
func rebalance(s State, cfg map[int]Server) (Step, bool) {
	want := Voters(s.View.Members, s.Self, s.MaxVoters)
	wanted := make(map[int]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	var current []int
	for _, srv := range s.Config {
		if srv.Voter {
			current = append(current, srv.ID)
		}
	}
	slices.Sort(current)
	// Too many voters: demote the highest-id unwanted voter first.
	if len(current) > len(want) {
		for i := len(current) - 1; i >= 0; i-- {
			if id := current[i]; !wanted[id] {
				return Step{Kind: Demote, Server: cfg[id]}, true
			}
		}
	}
	for _, id := range want {
		if srv := cfg[id]; !srv.Voter {
			srv.Voter = true
			return Step{Kind: Promote, Server: srv}, true
		}
	}
	for i := len(current) - 1; i >= 0; i-- {
		if id := current[i]; !wanted[id] {
			return Step{Kind: Demote, Server: cfg[id]}, true
		}
	}
	return Step{}, false
}

// Voters returns the ids that should vote: an odd number of members, at most
// maxVoters (rounded down to odd), the leader first, then the lowest ids.
// A two-member group has one voter, so it can shrink to one member.
func Voters(members []int, leader, maxVoters int) []int {
	if maxVoters%2 == 0 {
		maxVoters--
	}
	n := min(len(members), maxVoters)
	if n%2 == 0 {
		n--
	}
	if n <= 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(members))
	out := make([]int, 0, n)
	if slices.Contains(sorted, leader) {
		out = append(out, leader)
	}
	for _, id := range sorted {
		if len(out) == n {
			break
		}
		if id != leader {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
