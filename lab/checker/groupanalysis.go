package checker

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"roster/peer/viewlog"
)

// joinSkew is how much later than a member line a client's "joining" line
// may be stamped and still count: lines of different containers are stamped
// when the runner or Docker reads them, not when they were written.
const joinSkew = time.Second

// Client states at the end of a run.
const (
	clientAlive   = "alive"
	clientCrashed = "crashed"
	clientLeft    = "left"
)

// groupState is what the run says about one index of one group: the first
// line that printed it (which fixes its members for the analysis) and the
// earliest time any client printed it.
type groupState struct {
	index   uint64
	first   *GroupEvent
	members map[string]bool
	at      time.Time
}

// groupAnalysis is the derived state every group property reads.
type groupAnalysis struct {
	run      *Run
	opts     GroupOptions
	groups   []string
	states   map[string]map[uint64]*groupState
	order    map[string][]uint64                 // group -> indexes, ascending
	events   map[string]map[string][]*GroupEvent // group -> client -> its lines, in order
	status   map[string]map[string]string        // group -> client -> alive, crashed or left
	killed   map[string]bool                     // GroupOptions.Killed
	expect   map[string]bool                     // GroupOptions.ExpectRemovals
	joined   map[string]bool                     // GroupOptions.Joined
	joinings map[string]map[string][]*GroupEvent // group -> client -> its joining lines
	final    map[string]map[string]*GroupEvent   // group -> client -> its last view line
	clients  map[string]bool
	timed    bool
}

func analyseGroups(run *Run, opts GroupOptions) *groupAnalysis {
	a := &groupAnalysis{
		run: run, opts: opts, groups: run.GroupNames(),
		states:   map[string]map[uint64]*groupState{},
		order:    map[string][]uint64{},
		events:   map[string]map[string][]*GroupEvent{},
		status:   map[string]map[string]string{},
		killed:   stringSet(opts.Killed),
		expect:   stringSet(opts.ExpectRemovals),
		joined:   stringSet(opts.Joined),
		joinings: map[string]map[string][]*GroupEvent{},
		final:    map[string]map[string]*GroupEvent{},
		clients:  map[string]bool{},
	}
	for _, g := range a.groups {
		a.states[g] = map[uint64]*groupState{}
		a.events[g] = map[string][]*GroupEvent{}
		a.status[g] = map[string]string{}
		a.joinings[g] = map[string][]*GroupEvent{}
		a.final[g] = map[string]*GroupEvent{}
	}
	for i := range run.GroupEvents {
		e := &run.GroupEvents[i]
		g, c := e.Group, e.Client
		a.clients[c] = true
		a.events[g][c] = append(a.events[g][c], e)
		if !e.Time.IsZero() {
			a.timed = true
		}
		switch e.Kind {
		case GroupView:
			st := a.states[g][e.Index]
			if st == nil {
				st = &groupState{index: e.Index, first: e, members: stringSet(e.Members)}
				a.states[g][e.Index] = st
				a.order[g] = append(a.order[g], e.Index)
			}
			if !e.Time.IsZero() && (st.at.IsZero() || e.Time.Before(st.at)) {
				st.at = e.Time
			}
			a.final[g][c] = e
			if a.status[g][c] == "" {
				a.status[g][c] = clientAlive
			}
		case GroupJoining:
			a.status[g][c] = clientAlive
			a.joinings[g][c] = append(a.joinings[g][c], e)
		case GroupCrash:
			a.status[g][c] = clientCrashed
		case GroupLeaving:
			a.status[g][c] = clientLeft
		}
	}
	for _, g := range a.groups {
		slices.Sort(a.order[g])
		for c := range a.status[g] {
			if a.killed[c] {
				a.status[g][c] = clientCrashed
			}
		}
	}
	return a
}

// checkGroups judges the run's group lines.
func checkGroups(run *Run, opts GroupOptions) *GroupReport {
	a := analyseGroups(run, opts)
	r := &GroupReport{Groups: a.groups, Clients: sortedStrings(a.clients), Lines: len(run.GroupEvents)}
	acc, removals := a.accuracy()
	comp, latencies := a.completeness()
	r.Properties = []Property{a.agreement(), a.validity(), acc, comp}
	r.Removals, r.CrashRemoval, r.Absences = removals, latencies, a.absences()
	for _, g := range a.groups {
		for _, c := range sortedKeysOf(a.final[g]) {
			f := a.final[g][c]
			r.Final = append(r.Final, GroupFinal{Group: g, Client: c, Index: f.Index, Members: slices.Clone(f.Members), State: a.status[g][c]})
		}
	}
	return r
}

// agreement: every (group, index) has one member set across all clients.
func (a *groupAnalysis) agreement() Property {
	var o offences
	n := 0
	for _, g := range a.groups {
		n += len(a.order[g])
	}
	for i := range a.run.GroupEvents {
		e := &a.run.GroupEvents[i]
		if e.Kind != GroupView {
			continue
		}
		st := a.states[e.Group][e.Index]
		if st.first == e || sameStringSet(st.members, e.Members) {
			continue
		}
		o.addGroup(fmt.Sprintf("group %q index %d has members %s at client %q but %s at client %q",
			e.Group, e.Index, fmtStrings(sortedStrings(st.members)), st.first.Client, fmtStrings(e.Members), e.Client), st.first, e)
	}
	return o.property(GroupAgreement, fmt.Sprintf("%s of %s, one member set each", fmt.Sprintf("%d group indexes", n), plural(len(a.groups), "group")))
}

// validity: every member of every group view joined that group: it printed
// "joining" for it (not later than the line, by timestamps), or the options
// record its join.
func (a *groupAnalysis) validity() Property {
	var o offences
	reported := map[[2]string]bool{}
	members := map[string]bool{}
	for i := range a.run.GroupEvents {
		e := &a.run.GroupEvents[i]
		if e.Kind != GroupView {
			continue
		}
		for _, m := range e.Members {
			members[m] = true
			if a.joined[m] || reported[[2]string{e.Group, m}] || a.joinedBy(e.Group, m, e.Time) {
				continue
			}
			reported[[2]string{e.Group, m}] = true
			o.addGroup(fmt.Sprintf("group %q index %d has member %q, which never printed joining for it before", e.Group, e.Index, m), e)
		}
	}
	return o.property(GroupValidity, fmt.Sprintf("every member of every group view joined it (%s)", plural(len(members), "member")))
}

// joinedBy reports whether client c printed joining for group g no later
// than t (plus joinSkew); any joining line counts when t or it is unstamped.
func (a *groupAnalysis) joinedBy(g, c string, t time.Time) bool {
	for _, j := range a.joinings[g][c] {
		if t.IsZero() || j.Time.IsZero() || !j.Time.After(t.Add(joinSkew)) {
			return true
		}
	}
	return false
}

// accuracy: no group state dropped a client that was alive, unless it left
// or the options expected it.
func (a *groupAnalysis) accuracy() (Property, []ClientRemoval) {
	var o offences
	var out []ClientRemoval
	counts := map[string]int{}
	var live []string
	for _, g := range a.groups {
		ids := a.order[g]
		for i := 1; i < len(ids); i++ {
			prev, cur := a.states[g][ids[i-1]], a.states[g][ids[i]]
			for _, c := range sortedStrings(prev.members) {
				if cur.members[c] {
					continue
				}
				rm := ClientRemoval{Group: g, Client: c, Index: cur.index, Line: cur.first.Quote()}
				switch dep := a.departedBefore(g, c, cur); {
				case a.expect[c]:
					rm.Reason = "expected"
				case dep != nil && dep.Kind == GroupLeaving:
					rm.Reason = "left"
				case dep != nil && strings.TrimSpace(dep.Message) == viewlog.Killed, a.killed[c]:
					rm.Reason = "killed"
				case dep != nil:
					rm.Reason = "crashed"
				default:
					rm.Reason = "live"
					if !slices.Contains(live, c) {
						live = append(live, c)
					}
					o.addGroup(fmt.Sprintf("group %q index %d removed client %q, which was alive (no crash or leave before it)", g, cur.index, c), cur.first)
				}
				counts[rm.Reason]++
				out = append(out, rm)
			}
		}
	}
	detail := "no group state removed a client"
	if len(out) > 0 {
		var parts []string
		for _, why := range []string{"crashed", "killed", "left", "expected"} {
			if counts[why] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[why], why))
			}
		}
		detail = fmt.Sprintf("%s: %s", plural(len(out), "client removal"), strings.Join(parts, ", "))
	}
	p := o.property(GroupAccuracy, detail)
	if p.Verdict == Violated {
		sort.Strings(live)
		p.Detail = fmt.Sprintf("%s of live clients %s: %s", plural(o.count, "removal"), fmtStrings(live), p.Detail)
	}
	return p, out
}

// departedBefore returns the crash or leave of client c that explains its
// absence from state cur of group g, or nil. It explains it when the line's
// index is older than cur's, the client printed no view older than cur after
// it (it had not come back before cur), and, with timestamps, it came before
// cur was first printed.
func (a *groupAnalysis) departedBefore(g, c string, cur *groupState) *GroupEvent {
	var found *GroupEvent
	for _, e := range a.events[g][c] {
		switch e.Kind {
		case GroupCrash, GroupLeaving:
			if e.Index >= cur.index || !e.Time.IsZero() && !cur.at.IsZero() && e.Time.After(cur.at) {
				continue
			}
			found = e
		case GroupView:
			if found != nil && e.Index < cur.index && slices.Contains(e.Members, c) {
				found = nil // c was back after that departure
			}
		}
	}
	return found
}

// completeness: every live watcher's final view of a group holds every live
// client of it and no client that crashed or left for good; with a deadline
// and timestamps, every crash is seen by every live watcher within it.
func (a *groupAnalysis) completeness() (Property, []ClientLatency) {
	var o offences
	var latencies []ClientLatency
	var live, gone []string
	watchers := 0
	for _, g := range a.groups {
		var alive, departed []string
		for _, c := range sortedKeysOf(a.status[g]) {
			if a.status[g][c] == clientAlive {
				alive = append(alive, c)
			} else {
				departed = append(departed, c)
			}
		}
		live, gone = append(live, alive...), append(gone, departed...)
		for _, w := range alive {
			f := a.final[g][w]
			if f == nil {
				continue // a live client that printed no view watches nothing
			}
			watchers++
			for _, d := range departed {
				if f.Members != nil && slices.Contains(f.Members, d) {
					o.addGroup(fmt.Sprintf("group %q: client %q (%s) is still in the final view of %q (index %d)", g, d, a.status[g][d], w, f.Index), f)
				}
			}
			for _, v := range alive {
				if !slices.Contains(f.Members, v) {
					o.addGroup(fmt.Sprintf("group %q: live client %q is missing from the final view of %q (index %d)", g, v, w, f.Index), f)
				}
			}
		}
		if a.opts.Deadline > 0 && a.timed {
			latencies = append(latencies, a.crashDeadlines(g, alive, &o)...)
		}
	}
	if watchers == 0 {
		return Property{Name: GroupCompleteness, Verdict: NotApplicable, Detail: "no live client printed a group view"}, latencies
	}
	detail := fmt.Sprintf("live clients %s end in every live watcher's final view", fmtStrings(dedupe(live)))
	if len(gone) > 0 {
		detail += fmt.Sprintf("; departed %s absent from them", fmtStrings(dedupe(gone)))
	}
	if a.opts.Deadline > 0 && a.timed && len(latencies) > 0 {
		worst := slices.MaxFunc(latencies, func(x, y ClientLatency) int { return compareFloat(x.Ms, y.Ms) })
		detail += fmt.Sprintf("; %s removed at every live watcher within %v (slowest %s)", plural(len(latencies), "crashed client"), a.opts.Deadline, fmtDur(worst.To.Sub(worst.From)))
	}
	return o.property(GroupCompleteness, detail), latencies
}

// crashDeadlines checks that every crash of a client of group g that did not
// come back within the deadline shows up, within the deadline, as a view
// without it at every live watcher that watched from the crash to the
// deadline (one that crashed, left or restarted in between is not asked).
func (a *groupAnalysis) crashDeadlines(g string, alive []string, o *offences) []ClientLatency {
	var out []ClientLatency
	for _, c := range sortedKeysOf(a.events[g]) {
		for _, e := range a.events[g][c] {
			if e.Kind != GroupCrash || e.Time.IsZero() || a.cameBack(g, c, e) {
				continue
			}
			lat := ClientLatency{Group: g, Client: c, From: e.Time}
			ok := true
			for _, w := range alive {
				if w == c || !a.watching(g, w, e.Time) || a.interrupted(g, w, e.Time, e.Time.Add(a.opts.Deadline)) {
					continue
				}
				seen := a.firstViewWithout(g, w, c, e.Time)
				switch {
				case seen == nil:
					ok = false
					o.addGroup(fmt.Sprintf("group %q: client %q crashed at %s and %q printed no view without it after that", g, c, e.Time.Format(time.RFC3339Nano), w), e)
				case seen.Time.Sub(e.Time) > a.opts.Deadline:
					ok = false
					o.addGroup(fmt.Sprintf("group %q: client %q crashed and %q saw it removed %s later (deadline %v)", g, c, w, fmtDur(seen.Time.Sub(e.Time)), a.opts.Deadline), e, seen)
				case seen.Time.After(lat.To):
					lat.Watcher, lat.To = w, seen.Time
				}
			}
			if ok && lat.Watcher != "" {
				lat.Ms = ms(lat.To.Sub(lat.From))
				out = append(out, lat)
			}
		}
	}
	return out
}

// cameBack reports whether client c printed joining for g within the
// deadline after its crash line e.
func (a *groupAnalysis) cameBack(g, c string, e *GroupEvent) bool {
	for _, j := range a.joinings[g][c] {
		if j.Seq > e.Seq && !j.Time.IsZero() && j.Time.Sub(e.Time) <= a.opts.Deadline {
			return true
		}
	}
	return false
}

// watching reports whether client w printed a view of g before t.
func (a *groupAnalysis) watching(g, w string, t time.Time) bool {
	for _, e := range a.events[g][w] {
		if e.Kind == GroupView && !e.Time.IsZero() && e.Time.Before(t) {
			return true
		}
	}
	return false
}

// interrupted reports whether watcher w's life ended or began again
// between from and to (it crashed, left or joined anew): it did not watch
// the whole span.
func (a *groupAnalysis) interrupted(g, w string, from, to time.Time) bool {
	for _, e := range a.events[g][w] {
		if e.Kind == GroupView || e.Kind == GroupMessage || e.Time.IsZero() {
			continue
		}
		if e.Time.After(from) && !e.Time.After(to) {
			return true
		}
	}
	return false
}

// firstViewWithout returns w's first view of g at or after t without c.
func (a *groupAnalysis) firstViewWithout(g, w, c string, t time.Time) *GroupEvent {
	for _, e := range a.events[g][w] {
		if e.Kind == GroupView && !e.Time.IsZero() && !e.Time.Before(t) && !slices.Contains(e.Members, c) {
			return e
		}
	}
	return nil
}

// absences lists every span in which a client was out of a group it was in
// before and after.
func (a *groupAnalysis) absences() []ClientAbsence {
	out := []ClientAbsence{}
	for _, g := range a.groups {
		out0 := map[string]*groupState{} // client -> the state that removed it
		seen := map[string]bool{}
		for _, idx := range a.order[g] {
			st := a.states[g][idx]
			for c, from := range out0 {
				if st.members[c] {
					ab := ClientAbsence{Group: g, Client: c, From: from.index, To: st.index}
					if !from.at.IsZero() && !st.at.IsZero() {
						ab.Ms = ms(st.at.Sub(from.at))
					}
					out = append(out, ab)
					delete(out0, c)
				}
			}
			for c := range seen {
				if !st.members[c] && out0[c] == nil {
					out0[c] = st
				}
			}
			for c := range st.members {
				seen[c] = true
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].From < out[j].From || out[i].From == out[j].From && out[i].Client < out[j].Client
	})
	return out
}

// addGroup records an offence quoting group lines.
func (o *offences) addGroup(note string, lines ...*GroupEvent) {
	evs := make([]*Event, 0, len(lines))
	for _, e := range lines {
		if e != nil {
			evs = append(evs, &Event{Source: e.Source, LineNo: e.LineNo, Text: e.Text})
		}
	}
	o.add(note, evs...)
}

func stringSet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func sameStringSet(set map[string]bool, list []string) bool {
	l := stringSet(list)
	if len(l) != len(set) {
		return false
	}
	for k := range l {
		if !set[k] {
			return false
		}
	}
	return true
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupe(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// fmtStrings prints ids as ["a","b"].
func fmtStrings(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ",") + "]"
}
