package checker

import (
	"fmt"
	"slices"
	"sort"
)

// Verdict is the outcome of one property.
type Verdict string

const (
	// Held means the property held over the whole run.
	Held Verdict = "held"
	// Violated means at least one line breaks the property.
	Violated Verdict = "violated"
	// NotApplicable means the run gives nothing to judge the property on.
	NotApplicable Verdict = "not applicable"
)

// Quote is one offending log line and where it is.
type Quote struct {
	Source string `json:"source"`
	Line   int    `json:"line"`
	Text   string `json:"text"`
}

// String returns "source:line: text".
func (q Quote) String() string { return fmt.Sprintf("%s:%d: %s", q.Source, q.Line, q.Text) }

// Property is the verdict on one membership property.
type Property struct {
	// Name is one of Agreement, Order, Validity, Completeness, Accuracy, Convergence.
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Detail says what held, or what was violated and where.
	Detail string `json:"detail"`
	// Count is the number of offences (0 unless violated).
	Count int `json:"count"`
	// Lines quotes offending lines (at most 20).
	Lines []Quote `json:"lines,omitempty"`
}

// Removal is one peer dropped from the group, and why the checker thinks it was.
type Removal struct {
	Peer   int `json:"peer"`
	ViewID int `json:"view_id"`
	// Reason is "crashed", "killed", "expected" or "live" (a wrong removal).
	Reason string `json:"reason"`
	// Line is the first line that printed the removing view.
	Line Quote `json:"line"`
}

// Why a peer is down at the end of a run (FinalView.State).
const (
	// StateAlive is a survivor.
	StateAlive = "alive"
	// StateCrashed is a peer whose last life ended with "crashing".
	StateCrashed = "crashed"
	// StateKilled is a peer killed from outside: a "killed" record, or
	// Options.Killed.
	StateKilled = "killed"
	// StatePaused is a peer paused at the end (Options.Paused).
	StatePaused = "paused"
	// StateDisconnected is a peer on no network at the end
	// (Options.Disconnected).
	StateDisconnected = "disconnected"
	// StateExited is a peer whose process exited without a crash record
	// (Options.Exited).
	StateExited = "exited"
	// StateLeft is a peer whose last life ended with a graceful "leaving".
	StateLeft = "left"
)

// FinalView is the last view a peer printed.
type FinalView struct {
	Peer    int   `json:"peer"`
	ViewID  int   `json:"view_id"`
	Leader  int   `json:"leader"`
	Members []int `json:"members"`
	// Crashed is true when the peer is down at the end: it crashed, was
	// killed or paused, or left. State says which.
	Crashed bool `json:"crashed"`
	// State is StateAlive, StateCrashed, StateKilled, StatePaused,
	// StateDisconnected, StateExited or StateLeft.
	State string `json:"state"`
	// Lives counts the peer's lives (more than 1 when it restarted).
	Lives int `json:"lives"`
}

// Report is the checker's verdict on a run. It is immutable after Check and
// safe for concurrent reads.
type Report struct {
	// Properties holds the six properties, in the order of the Name constants.
	Properties []Property `json:"properties"`
	Figures    Figures    `json:"figures"`
	// Started, Crashed, Left and Survivors list peer ids, sorted. Crashed
	// holds the peers down at the end not by choice (crashed, killed,
	// paused, disconnected or exited), Left those whose last life ended with a graceful leave.
	Started   []int `json:"started"`
	Crashed   []int `json:"crashed"`
	Left      []int `json:"left"`
	Survivors []int `json:"survivors"`
	// Final lists every peer's last view, by peer id.
	Final    []FinalView `json:"final_views"`
	Removals []Removal   `json:"removals"`
	// Sources, Lines, ViewLines and Ignored describe the input.
	Sources   []string `json:"sources"`
	Lines     int      `json:"lines"`
	ViewLines int      `json:"view_lines"`
	Ignored   int      `json:"ignored_lines"`
	Warnings  []string `json:"warnings,omitempty"`
	// Engine repeats Options.Engine: the containers' state, when read.
	Engine []string `json:"engine,omitempty"`
	// Groups judges the group lines clients printed; nil when there were none.
	Groups *GroupReport `json:"groups,omitempty"`
	// Verdict is "pass", "fail" or "cannot judge"; ExitStatus is Status().
	Verdict    string `json:"verdict"`
	ExitStatus int    `json:"status"`
}

// Check judges a run. It does not modify the run and is safe to call
// concurrently on the same run.
func Check(run *Run, opts Options) *Report {
	a := analyse(run, opts)
	r := &Report{
		Started:   append([]int(nil), run.Started...),
		Crashed:   []int{},
		Left:      []int{},
		Survivors: append([]int(nil), a.surv...),
		Sources:   append([]string(nil), run.Sources...),
		Lines:     run.Lines,
		ViewLines: a.viewCnt,
		Ignored:   run.Ignored,
		Warnings:  append([]string(nil), run.Warnings...),
		Engine:    append([]string(nil), opts.Engine...),
	}
	for _, p := range sortedKeys(a.crashed) {
		if a.state[p] == StateLeft {
			r.Left = append(r.Left, p)
		} else {
			r.Crashed = append(r.Crashed, p)
		}
	}
	if r.Survivors == nil {
		r.Survivors = []int{}
	}
	if len(run.GroupEvents) > 0 {
		r.Groups = checkGroups(run, opts.Clients)
	}
	if a.viewCnt == 0 {
		for _, name := range []string{Agreement, Order, Validity, Completeness, Accuracy, Convergence} {
			r.Properties = append(r.Properties, Property{Name: name, Verdict: NotApplicable, Detail: "no view lines in the input"})
		}
		const note = "not available: no view lines in the input"
		none := []Latency{}
		r.Figures = Figures{
			Join:         Figure{Name: "join latency", Note: note, Latencies: none},
			CrashRemoval: Figure{Name: "crash to removal", Note: note, Latencies: none},
			Failover:     Figure{Name: "leader failover", Note: note, Latencies: none},
		}
		r.finish()
		return r
	}
	acc, removals := a.accuracy()
	r.Properties = []Property{a.agreement(), a.order(), a.validity(), a.completeness(), acc, a.convergence()}
	r.Removals = removals
	r.Figures = a.figures()
	for p, e := range a.final {
		st := StateAlive
		if a.crashed[p] {
			st = a.state[p]
		}
		r.Final = append(r.Final, FinalView{Peer: p, ViewID: e.ViewID, Leader: e.Leader, Members: append([]int(nil), e.Members...), Crashed: a.crashed[p], State: st, Lives: len(a.lives[p])})
	}
	sort.Slice(r.Final, func(i, j int) bool { return r.Final[i].Peer < r.Final[j].Peer })
	r.finish()
	return r
}

func (r *Report) finish() {
	r.ExitStatus = r.status()
	r.Verdict = map[int]string{0: "pass", 1: "fail", 2: "cannot judge"}[r.ExitStatus]
}

func (r *Report) status() int {
	if r.ViewLines == 0 && r.Groups == nil {
		return 2
	}
	if len(r.Violated()) > 0 {
		return 1
	}
	return 0
}

// Status is the exit status for the report: 0 when every property held or
// was not applicable, 1 when a property (of views or of groups) was
// violated, 2 when the run could not be judged (no view or group lines).
func (r *Report) Status() int { return r.status() }

// OK reports whether the run was judged and no property was violated
// (Status() == 0): every property held or was not applicable.
func (r *Report) OK() bool { return r.status() == 0 }

// Property returns the named property (a view or a group property), and
// false when there is none.
func (r *Report) Property(name string) (Property, bool) {
	for _, p := range r.Properties {
		if p.Name == name {
			return p, true
		}
	}
	if r.Groups != nil {
		return r.Groups.Property(name)
	}
	return Property{}, false
}

// Violated returns the names of the violated properties, in report order:
// the view properties, then the group properties.
func (r *Report) Violated() []string {
	var out []string
	props := r.Properties
	if r.Groups != nil {
		props = append(slices.Clone(props), r.Groups.Properties...)
	}
	for _, p := range props {
		if p.Verdict == Violated {
			out = append(out, p.Name)
		}
	}
	return out
}
