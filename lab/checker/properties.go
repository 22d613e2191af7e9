package checker

import (
	"fmt"
	"sort"
	"strings"
)

// Property names, stable strings used in JSON and tests.
const (
	Agreement    = "agreement"
	Order        = "order"
	Validity     = "validity"
	Completeness = "completeness"
	Accuracy     = "accuracy"
	Convergence  = "convergence"
)

// maxQuotes bounds the offending lines kept per property.
const maxQuotes = 20

// offences collects the violations of one property.
type offences struct {
	count  int // offences counted
	drop   int // notes left out to keep the detail short
	notes  []string
	quotes []Quote
	seen   map[Quote]bool
}

func (o *offences) add(note string, lines ...*Event) {
	o.count++
	if len(o.notes) < maxQuotes {
		o.notes = append(o.notes, note)
	} else {
		o.drop++
	}
	for _, e := range lines {
		if e == nil {
			continue
		}
		q := e.Quote()
		if o.seen == nil {
			o.seen = map[Quote]bool{}
		}
		if !o.seen[q] && len(o.quotes) < maxQuotes {
			o.seen[q] = true
			o.quotes = append(o.quotes, q)
		}
	}
}

// property turns the offences into a Property: held with the given detail
// when there are none, violated with the notes otherwise.
func (o *offences) property(name, heldDetail string) Property {
	if o.count == 0 {
		return Property{Name: name, Verdict: Held, Detail: heldDetail}
	}
	detail := strings.Join(o.notes, "; ")
	if o.drop > 0 {
		detail += fmt.Sprintf("; and %d more", o.drop)
	}
	return Property{Name: name, Verdict: Violated, Detail: detail, Count: o.count, Lines: o.quotes}
}

// agreement: every view id has one member list and one leader across all peers.
func (a *analysis) agreement() Property {
	var o offences
	for i := range a.run.Events {
		e := &a.run.Events[i]
		if e.Kind != KindView {
			continue
		}
		v := a.views[e.ViewID]
		if v.first == e {
			continue
		}
		if !sameSet(v.members, e.Members) {
			o.add(fmt.Sprintf("view %d has members %s at peer %d but %s at peer %d", e.ViewID, fmtSet(v.members), v.first.Peer, fmtList(e.Members), e.Peer), v.first, e)
		}
		if e.Leader != v.leader {
			o.add(fmt.Sprintf("view %d has leader %d at peer %d but leader %d at peer %d", e.ViewID, v.leader, v.first.Peer, e.Leader, e.Peer), v.first, e)
		}
	}
	return o.property(Agreement, fmt.Sprintf("%d view ids, one member list and one leader each", len(a.ids)))
}

// order: within each life of a peer its view ids strictly increase (a new
// life may start anywhere: a restarted peer may print history again), and a
// peer is in every view it prints.
func (a *analysis) order() Property {
	var o offences
	restarted := 0
	for _, p := range a.run.Peers() {
		if len(a.lives[p]) > 1 {
			restarted++
		}
		for _, l := range a.lives[p] {
			var prev *Event
			for _, e := range l.events {
				if e.Kind != KindView {
					continue
				}
				if prev != nil && e.ViewID <= prev.ViewID {
					verb := "went back"
					if e.ViewID == prev.ViewID {
						verb = "repeated"
					}
					o.add(fmt.Sprintf("peer %d's view id %s from %d to %d", p, verb, prev.ViewID, e.ViewID), prev, e)
				}
				if !contains(e.Members, p) {
					o.add(fmt.Sprintf("peer %d printed view %d %s without itself", p, e.ViewID, fmtList(e.Members)), e)
				}
				prev = e
			}
		}
	}
	detail := fmt.Sprintf("view ids strictly increase at each of %d peers, each in every view it printed", len(a.run.Peers()))
	if restarted > 0 {
		detail = fmt.Sprintf("view ids strictly increase in every life of each of %d peers (%d restarted), each in every view it printed", len(a.run.Peers()), restarted)
	}
	return o.property(Order, detail)
}

// validity: every member and leader of a view is a started peer (and, with a
// hostsfile, a peer of the hostsfile).
func (a *analysis) validity() Property {
	var o offences
	inHosts := map[int]bool{}
	for _, id := range a.opts.Hostsfile {
		inHosts[id] = true
	}
	reported := map[[2]int]bool{}
	check := func(e *Event, p int, role string) {
		if reported[[2]int{e.ViewID, p}] {
			return
		}
		switch {
		case len(inHosts) > 0 && !inHosts[p]:
			o.add(fmt.Sprintf("view %d has %s %d, which is not in the hostsfile", e.ViewID, role, p), e)
		case !a.started[p]:
			o.add(fmt.Sprintf("view %d has %s %d, which never printed anything", e.ViewID, role, p), e)
		default:
			return
		}
		reported[[2]int{e.ViewID, p}] = true
	}
	for i := range a.run.Events {
		e := &a.run.Events[i]
		if e.Kind != KindView {
			continue
		}
		for _, m := range e.Members {
			check(e, m, "member")
		}
		check(e, e.Leader, "leader")
	}
	return o.property(Validity, fmt.Sprintf("every member and leader of every view is one of the %d started peers", len(a.started)))
}

// completeness: every finally crashed peer is absent from every survivor's
// final view, and every survivor is in every survivor's final view.
func (a *analysis) completeness() Property {
	if len(a.surv) == 0 {
		return Property{Name: Completeness, Verdict: NotApplicable, Detail: "no survivors: every started peer crashed"}
	}
	var o offences
	// Group the offences by the peer that is wrongly in or out, so a peer
	// missing everywhere makes one note, not one per survivor.
	type key struct {
		peer int
		down string // the state of a departed peer; "" for a survivor
	}
	var keys []key
	where := map[key][]int{}
	lines := map[key][]*Event{}
	note := func(k key, s int, f *Event) {
		if where[k] == nil {
			keys = append(keys, k)
		}
		where[k] = append(where[k], s)
		lines[k] = append(lines[k], f)
	}
	for _, s := range a.surv {
		f := a.final[s]
		if f == nil {
			o.add(fmt.Sprintf("peer %d survived but never printed a view", s))
			continue
		}
		for _, m := range f.Members {
			if a.crashed[m] {
				note(key{m, a.state[m]}, s, f)
			}
		}
		for _, t := range a.surv {
			if !contains(f.Members, t) {
				note(key{t, ""}, s, f)
			}
		}
	}
	for _, k := range keys {
		what := fmt.Sprintf("survivor %d is missing from the final views of %s", k.peer, fmtList(where[k]))
		if k.down != "" {
			what = fmt.Sprintf("%s peer %d is still in the final views of %s", k.down, k.peer, fmtList(where[k]))
		}
		o.add(what, lines[k]...)
		o.count += len(where[k]) - 1
	}
	detail := fmt.Sprintf("survivors %s end in each other's final views", fmtList(a.surv))
	if len(a.surv) == 1 {
		detail = fmt.Sprintf("survivor %d ends in its own final view", a.surv[0])
	}
	if down := a.downText(); down != "" {
		detail += fmt.Sprintf("; %s absent from them", down)
	}
	return o.property(Completeness, detail)
}

// accuracy: no view removed a peer that was alive at the time, unless the
// options expected it.
func (a *analysis) accuracy() (Property, []Removal) {
	var o offences
	var out []Removal
	var explained, expected int
	var live []int
	for _, r := range a.removals() {
		rm := Removal{Peer: r.peer, ViewID: r.view, Line: a.views[r.view].first.Quote()}
		switch l := a.lifeBefore(r.peer, r.view); {
		case a.expect[r.peer]:
			rm.Reason = "expected"
			expected++
		case l != nil:
			rm.Reason = l.reason()
			explained++
		case a.outside[r.peer] != "" && r.view > a.printed[r.peer]:
			// Down from outside at an unknown time after the last view it printed.
			rm.Reason = a.outside[r.peer]
			explained++
		default:
			rm.Reason = "live"
			if !contains(live, r.peer) {
				live = append(live, r.peer)
			}
			o.add(fmt.Sprintf("view %d removed peer %d, which was alive (no crash before it)", r.view, r.peer), a.views[r.view].first)
		}
		out = append(out, rm)
	}
	detail := fmt.Sprintf("%s, every one after a crash", plural(len(out), "removal"))
	switch {
	case len(out) == 0:
		detail = "no view removed a peer"
	case expected > 0:
		detail = fmt.Sprintf("%s: %d after a crash, %d expected", plural(len(out), "removal"), explained, expected)
	case explained > 0 && !allCrashes(out):
		detail = fmt.Sprintf("%s, every one after its peer went down (%s)", plural(len(out), "removal"), reasonCounts(out))
	}
	p := o.property(Accuracy, detail)
	if p.Verdict == Violated {
		sort.Ints(live)
		p.Detail = fmt.Sprintf("%s of live peers %s: %s", plural(o.count, "removal"), fmtList(live), p.Detail)
	}
	return p, out
}

// convergence: all survivors end on the same view.
func (a *analysis) convergence() Property {
	var ends []*Event
	for _, s := range a.surv {
		if f := a.final[s]; f != nil {
			ends = append(ends, f)
		}
	}
	if len(ends) == 0 {
		return Property{Name: Convergence, Verdict: NotApplicable, Detail: "no survivor printed a view"}
	}
	ids := map[int][]int{}
	for _, f := range ends {
		ids[f.ViewID] = append(ids[f.ViewID], f.Peer)
	}
	if len(ids) == 1 {
		f := ends[0]
		who := fmt.Sprintf("%d survivors end", len(ends))
		if len(ends) == 1 {
			who = fmt.Sprintf("the only survivor, %d, ends", f.Peer)
		}
		return Property{Name: Convergence, Verdict: Held, Detail: fmt.Sprintf("%s on view %d %s", who, f.ViewID, fmtList(f.Members))}
	}
	var o offences
	var parts []string
	for _, id := range sortedKeys(keysOf(ids)) {
		parts = append(parts, fmt.Sprintf("view %d at %s", id, fmtList(ids[id])))
	}
	for _, f := range ends {
		o.add("", f)
	}
	p := o.property(Convergence, "")
	p.Detail = "survivors end on different views: " + strings.Join(parts, ", ")
	return p
}

// allCrashes reports whether every removal follows a crash record.
func allCrashes(rs []Removal) bool {
	for _, r := range rs {
		if r.Reason != "crashed" {
			return false
		}
	}
	return true
}

// reasonCounts summarises removal reasons: "2 crashed, 1 left".
func reasonCounts(rs []Removal) string {
	n := map[string]int{}
	var order []string
	for _, r := range rs {
		if n[r.Reason] == 0 {
			order = append(order, r.Reason)
		}
		n[r.Reason]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%d %s", n[k], k)
	}
	return strings.Join(parts, ", ")
}

// downText lists the departed peers by state: "crashed [5], left [3]".
func (a *analysis) downText() string {
	by := map[string][]int{}
	for _, p := range sortedKeys(a.crashed) {
		by[a.state[p]] = append(by[a.state[p]], p)
	}
	var parts []string
	for _, st := range []string{StateCrashed, StateKilled, StateExited, StatePaused, StateDisconnected, StateLeft} {
		if len(by[st]) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", st, fmtList(by[st])))
		}
	}
	return strings.Join(parts, ", ")
}

func keysOf(m map[int][]int) map[int]bool {
	out := make(map[int]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sameSet(set map[int]bool, list []int) bool {
	l := setOf(list)
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

// fmtList prints ids as [1,2,3].
func fmtList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func fmtSet(m map[int]bool) string { return fmtList(sortedKeys(m)) }
