package checker

import (
	"sort"
	"strings"
	"time"
)

// viewInfo is what the run says about one view id: the first line that
// printed it (which fixes members and leader for the rest of the analysis),
// and the earliest timestamp at which any peer printed it.
type viewInfo struct {
	id      int
	first   *Event
	members map[int]bool
	leader  int
	at      time.Time // earliest print time; zero when unknown
}

// analysis is the derived state every property and figure reads.
type analysis struct {
	run     *Run
	opts    Options
	views   map[int]*viewInfo
	ids     []int          // view ids, ascending
	outside map[int]string // peers down at the end by the options: the state they are in
	expect  map[int]bool
	started map[int]bool
	crashed map[int]bool   // down at the end (crashed, killed, paused or left)
	state   map[int]string // why a peer in crashed is down: one of the State constants
	surv    []int          // survivors, ascending
	final   map[int]*Event
	printed map[int]int // the newest view id each peer printed, in any life
	lives   map[int][]*life
	viewCnt int
	timed   bool        // some record carries a timestamp
	crashAt map[int]int // crash event Seq -> the view the peer was in (see crashView)
}

func analyse(run *Run, opts Options) *analysis {
	a := &analysis{
		run: run, opts: opts,
		views:   map[int]*viewInfo{},
		outside: map[int]string{},
		expect:  setOf(opts.ExpectRemovals),
		started: setOf(run.Started),
		crashed: map[int]bool{},
		state:   map[int]string{},
		final:   map[int]*Event{},
		printed: map[int]int{},
		lives:   map[int][]*life{},
		crashAt: map[int]int{},
	}
	for i := range run.Events {
		e := &run.Events[i]
		if !e.Time.IsZero() {
			a.timed = true
		}
		if e.Kind != KindView {
			continue
		}
		a.viewCnt++
		v := a.views[e.ViewID]
		if v == nil {
			v = &viewInfo{id: e.ViewID, first: e, members: setOf(e.Members), leader: e.Leader}
			a.views[e.ViewID] = v
			a.ids = append(a.ids, e.ViewID)
		}
		if !e.Time.IsZero() && (v.at.IsZero() || e.Time.Before(v.at)) {
			v.at = e.Time
		}
	}
	sort.Ints(a.ids)
	for _, o := range []struct {
		ids   []int
		state string
	}{{opts.Exited, StateExited}, {opts.Disconnected, StateDisconnected}, {opts.Paused, StatePaused}, {opts.Killed, StateKilled}} {
		for _, p := range o.ids {
			a.outside[p] = o.state
		}
	}
	for _, p := range run.Started {
		lives := splitLives(run.PeerEvents(p), restartsOf(opts.Restarts, p))
		a.lives[p] = lives
		for _, l := range lives {
			for _, e := range l.events {
				switch e.Kind {
				case KindView:
					a.final[p] = e
					a.printed[p] = max(a.printed[p], e.ViewID)
				case KindCrash:
					// The view the peer was in: the newest it printed in
					// this life, or the one the line names if newer.
					a.crashAt[e.Seq] = max(l.lastView, e.ViewID)
				}
			}
		}
		last := lives[len(lives)-1]
		switch st := a.outside[p]; {
		case st != "" && (st != StateExited || last.end == nil):
			a.state[p] = st
		case last.end != nil:
			a.state[p] = endState(last.end)
		default:
			a.surv = append(a.surv, p)
			continue
		}
		a.crashed[p] = true
	}
	return a
}

// life is one run of a peer's process: from its first line, or a restart, to
// its end. A life ends with a crash record ("crashing", "killed" or
// "leaving"), or, unrecorded, where the next one starts: at a "joining" line
// (a peer prints one when it starts) or at a restart Options.Restarts
// reports. A view line after a crash record starts a new life too. Other
// records after a crash record (late lines of the dying process) stay in the
// life that ended. Within a life view ids strictly increase; a new life may
// start anywhere (a peer restarted without its data prints history again).
type life struct {
	events   []*Event
	end      *Event    // the crash record that ended it; nil when unrecorded or still going
	ended    bool      // a crash record or a later life ended it
	endAt    time.Time // when it ended, or the last moment it was seen alive; zero when unknown
	lastView int       // the newest view id it printed; 0 when none
}

// endView is the view the life was in when it ended.
func (l *life) endView() int {
	if l.end != nil {
		return max(l.lastView, l.end.ViewID)
	}
	return l.lastView
}

// reason is how a removal after this life's end is explained.
func (l *life) reason() string {
	switch {
	case l.end == nil:
		return "restarted"
	case endState(l.end) == StateLeft:
		return "left"
	}
	return "crashed"
}

// endState names how a crash record ended a life.
func endState(e *Event) string {
	switch strings.TrimSpace(e.Message) {
	case "leaving":
		return StateLeft
	case "killed":
		return StateKilled
	}
	return StateCrashed
}

// isJoining reports whether e is the line a peer prints when it starts.
func isJoining(e *Event) bool {
	return e.Kind == KindMessage && strings.TrimSpace(e.Message) == "joining"
}

// restartsOf returns the restarts of peer p, oldest first.
func restartsOf(all []Restart, p int) []Restart {
	var out []Restart
	for _, r := range all {
		if r.Peer == p && !r.At.IsZero() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// splitLives cuts one peer's events into lives (see life). It returns at
// least one life, possibly empty.
func splitLives(evs []*Event, restarts []Restart) []*life {
	cur := &life{}
	var lives []*life
	for _, e := range evs {
		boundary := false
		var ended time.Time
		for len(restarts) > 0 && !e.Time.IsZero() && !e.Time.Before(restarts[0].At) {
			boundary, ended = true, restarts[0].Ended
			restarts = restarts[1:]
		}
		if isJoining(e) || e.Kind == KindView && cur.end != nil {
			boundary = true
		}
		if boundary && len(cur.events) > 0 {
			cur.ended = true
			if cur.end == nil && !ended.IsZero() {
				cur.endAt = ended
			}
			lives = append(lives, cur)
			cur = &life{}
		}
		cur.events = append(cur.events, e)
		if cur.end == nil && !e.Time.IsZero() {
			cur.endAt = e.Time // seen alive; replaced by the end when known
		}
		switch e.Kind {
		case KindView:
			cur.lastView = max(cur.lastView, e.ViewID)
		case KindCrash:
			if cur.end == nil {
				cur.end, cur.ended, cur.endAt = e, true, e.Time
			}
		}
	}
	return append(lives, cur)
}

// removal is one peer dropped from the group: in view id `view`, p is absent
// though it was a member of the view before.
type removal struct {
	peer, view, prev int
}

// removals lists every removal in the run's view history, in view order.
func (a *analysis) removals() []removal {
	var out []removal
	for i := 1; i < len(a.ids); i++ {
		prev, cur := a.views[a.ids[i-1]], a.views[a.ids[i]]
		for _, p := range sortedKeys(prev.members) {
			if !cur.members[p] {
				out = append(out, removal{peer: p, view: cur.id, prev: prev.id})
			}
		}
	}
	return out
}

// lifeBefore returns the life of p whose end explains its removal in view v,
// or nil: a life that ended in a view older than v (and, when both are
// known, no later than v was first printed), with p not admitted again
// between that view and v. The newest such life is returned.
func (a *analysis) lifeBefore(p, v int) *life {
	var found *life
	at := a.views[v].at
	for _, l := range a.lives[p] {
		if !l.ended || l.endView() >= v {
			continue
		}
		if !l.endAt.IsZero() && !at.IsZero() && l.endAt.After(at) {
			continue
		}
		if a.admitted(p, l.endView(), v) {
			continue
		}
		found = l
	}
	return found
}

// admitted reports whether a view with an id strictly between from and to
// added p (p is in it but not in the view before it).
func (a *analysis) admitted(p, from, to int) bool {
	for i, id := range a.ids {
		if id <= from || id >= to {
			continue
		}
		if a.views[id].members[p] && (i == 0 || !a.views[a.ids[i-1]].members[p]) {
			return true
		}
	}
	return false
}

// crashView is the view a crashed peer was in: the crash line's view id, or
// the last view the peer printed before it when that is newer (a runner's
// "killed" line may not know the view).
func (a *analysis) crashView(c *Event) int { return a.crashAt[c.Seq] }

// firstViewAt returns the first view line of peer q with id >= from for which
// keep is true.
func (a *analysis) firstViewAt(q, from int, keep func(*Event) bool) *Event {
	for _, e := range a.run.PeerEvents(q) {
		if e.Kind == KindView && e.ViewID >= from && keep(e) {
			return e
		}
	}
	return nil
}

func setOf(xs []int) map[int]bool {
	m := make(map[int]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	sort.Ints(out)
	return out
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
