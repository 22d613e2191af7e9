package checker

import (
	"roster/lab/stats"

	"fmt"
	"sort"
	"time"
)

// Latency is one measured delay of the run.
type Latency struct {
	// Peer is the peer that joined or crashed.
	Peer int `json:"peer"`
	// ViewID is the view whose printing ended the measurement.
	ViewID int `json:"view_id"`
	// From and To are the two timestamps.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// D is To - From.
	D time.Duration `json:"-"`
	// Ms is D in milliseconds, for JSON.
	Ms float64 `json:"ms"`
}

// Stats summarises a figure's latencies, in milliseconds.
type Stats = stats.Summary

// Figure is one kind of measurement: its latencies, a summary, and what could
// not be measured.
type Figure struct {
	// Name is "join latency", "crash to removal" or "leader failover".
	Name string `json:"name"`
	// Latencies holds one entry per join, crash or failover measured.
	Latencies []Latency `json:"latencies"`
	// Stats summarises Latencies; nil when there are none.
	Stats *Stats `json:"stats,omitempty"`
	// Missing notes events that could not be measured (a crashed peer never removed).
	Missing []string `json:"missing,omitempty"`
	// Note says why the figure is not available, when it is not.
	Note string `json:"note,omitempty"`
}

// Figures are the run's latencies, measured from timestamps.
type Figures struct {
	// Available is false when the logs carry no timestamps.
	Available    bool   `json:"available"`
	Join         Figure `json:"join"`
	CrashRemoval Figure `json:"crash_to_removal"`
	Failover     Figure `json:"leader_failover"`
}

// Summary returns min, median and max of the figure's latencies, and false
// when there are none.
func (f *Figure) Summary() (min, median, max time.Duration, ok bool) {
	if len(f.Latencies) == 0 {
		return 0, 0, 0, false
	}
	ds := make([]time.Duration, len(f.Latencies))
	for i, l := range f.Latencies {
		ds[i] = l.D
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	n := len(ds)
	median = ds[n/2]
	if n%2 == 0 {
		median = (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[0], median, ds[n-1], true
}

func (f *Figure) finish() {
	if len(f.Latencies) == 0 {
		f.Stats = nil
		return
	}
	ds := make([]time.Duration, len(f.Latencies))
	for i, l := range f.Latencies {
		ds[i] = l.D
	}
	s := stats.Of(ds)
	f.Stats = &s
}

func ms(d time.Duration) float64 { return stats.Ms(d) }

func newLatency(peer, view int, from, to time.Time) Latency {
	d := to.Sub(from)
	return Latency{Peer: peer, ViewID: view, From: from, To: to, D: d, Ms: ms(d)}
}

// figures measures join, crash-to-removal and leader failover latencies.
func (a *analysis) figures() Figures {
	fs := Figures{
		Join:         Figure{Name: "join latency", Latencies: []Latency{}},
		CrashRemoval: Figure{Name: "crash to removal", Latencies: []Latency{}},
		Failover:     Figure{Name: "leader failover", Latencies: []Latency{}},
	}
	if !a.timed {
		const note = "not available: the logs carry no timestamps (use docker compose logs -t)"
		fs.Join.Note, fs.CrashRemoval.Note, fs.Failover.Note = note, note, note
		return fs
	}
	fs.Available = true
	a.joinFigure(&fs.Join)
	a.crashFigures(&fs.CrashRemoval, &fs.Failover)
	for _, f := range []*Figure{&fs.Join, &fs.CrashRemoval, &fs.Failover} {
		f.finish()
		switch {
		case len(f.Latencies) > 0 || f.Note != "":
		case len(f.Missing) > 0:
			f.Note = "not measurable (see below)"
		default:
			f.Note = "nothing to measure"
		}
	}
	return fs
}

// joinFigure: from a peer's first line to the time the last member of the
// view that added it printed a view containing it.
func (a *analysis) joinFigure(f *Figure) {
	var unknown []int
	defer func() {
		if len(unknown) > 0 {
			f.Missing = append(f.Missing, fmt.Sprintf("peers %s printed nothing before their first view, so when they started is unknown", fmtList(unknown)))
		}
	}()
	for _, p := range a.run.Started {
		t0, ok := a.run.FirstLine[p]
		if !ok {
			continue
		}
		var add *viewInfo
		for _, id := range a.ids {
			if a.views[id].members[p] {
				add = a.views[id]
				break
			}
		}
		if add == nil {
			continue
		}
		if own := a.firstViewAt(p, 0, func(*Event) bool { return true }); own != nil && !own.Time.IsZero() && !own.Time.After(t0) {
			unknown = append(unknown, p)
			continue
		}
		var last *Event
		for _, q := range sortedKeys(add.members) {
			e := a.firstViewAt(q, add.id, func(e *Event) bool { return contains(e.Members, p) })
			if e != nil && !e.Time.IsZero() && (last == nil || e.Time.After(last.Time)) {
				last = e
			}
		}
		if last == nil {
			f.Missing = append(f.Missing, fmt.Sprintf("peer %d: no timestamped view shows it joined", p))
			continue
		}
		f.Latencies = append(f.Latencies, newLatency(p, add.id, t0, last.Time))
	}
}

// crashFigures: from a crash line to the last member of the removing view
// printing a view without the crashed peer; and, when the crashed peer led
// the current view, from the crash to the first view committed by another
// leader.
func (a *analysis) crashFigures(removal, failover *Figure) {
	for i := range a.run.Events {
		c := &a.run.Events[i]
		if c.Kind != KindCrash || c.Time.IsZero() {
			continue
		}
		p := c.Peer
		at := a.crashView(c)
		var rm *viewInfo
		for _, id := range a.ids {
			if id > at && !a.views[id].members[p] {
				rm = a.views[id]
				break
			}
		}
		if rm == nil {
			removal.Missing = append(removal.Missing, fmt.Sprintf("peer %d crashed in view %d and was never removed", p, at))
		} else {
			var last *Event
			for _, q := range sortedKeys(rm.members) {
				e := a.firstViewAt(q, rm.id, func(e *Event) bool { return !contains(e.Members, p) })
				if e != nil && !e.Time.IsZero() && (last == nil || e.Time.After(last.Time)) {
					last = e
				}
			}
			if last != nil {
				removal.Latencies = append(removal.Latencies, newLatency(p, rm.id, c.Time, last.Time))
			} else {
				removal.Missing = append(removal.Missing, fmt.Sprintf("peer %d: no timestamped view shows its removal", p))
			}
		}
		leader := c.Leader
		if v := a.views[at]; v != nil {
			leader = v.leader
		}
		if leader != p {
			continue
		}
		var next *Event
		for j := range a.run.Events {
			e := &a.run.Events[j]
			if e.Kind == KindView && e.ViewID > at && e.Leader != p && !e.Time.IsZero() && (next == nil || e.Time.Before(next.Time)) {
				next = e
			}
		}
		if next == nil {
			failover.Missing = append(failover.Missing, fmt.Sprintf("leader %d crashed in view %d and no other leader committed a view", p, at))
			continue
		}
		failover.Latencies = append(failover.Latencies, newLatency(p, next.ViewID, c.Time, next.Time))
	}
}
