package checker

import (
	"sort"
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
	ids     []int // view ids, ascending
	killed  map[int]bool
	expect  map[int]bool
	started map[int]bool
	crashed map[int]bool // finally crashed
	surv    []int        // survivors, ascending
	final   map[int]*Event
	viewCnt int
	timed   bool        // some record carries a timestamp
	crashAt map[int]int // crash event Seq -> the view the peer was in (see crashView)
}

func analyse(run *Run, opts Options) *analysis {
	a := &analysis{
		run: run, opts: opts,
		views:   map[int]*viewInfo{},
		killed:  setOf(opts.Killed),
		expect:  setOf(opts.ExpectRemovals),
		started: setOf(run.Started),
		crashed: map[int]bool{},
		final:   map[int]*Event{},
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
	for _, p := range run.Started {
		crashed := a.killed[p]
		last := 0 // the newest view id p printed so far
		for _, e := range run.PeerEvents(p) {
			switch e.Kind {
			case KindView:
				crashed = a.killed[p]
				a.final[p] = e
				last = max(last, e.ViewID)
			case KindCrash:
				crashed = true
				a.crashAt[e.Seq] = max(last, e.ViewID)
			}
		}
		if crashed {
			a.crashed[p] = true
		} else {
			a.surv = append(a.surv, p)
		}
	}
	return a
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

// crashBefore returns the crash of p that explains its removal in view v, or
// nil. A crash explains it when p printed no view older than v after the
// crash (so it had not come back before v), the crash line's view is older
// than v, and, when both have timestamps, the crash came first.
func (a *analysis) crashBefore(p, v int) *Event {
	evs := a.run.PeerEvents(p)
	var found *Event
	for _, e := range evs {
		switch e.Kind {
		case KindCrash:
			if a.crashView(e) >= v {
				continue
			}
			at := a.views[v].at
			if !e.Time.IsZero() && !at.IsZero() && e.Time.After(at) {
				continue
			}
			found = e
		case KindView:
			if e.ViewID < v {
				found = nil // p was back after that crash
			}
		}
	}
	return found
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
