package checker

import (
	"sort"
	"strings"
	"time"

	"roster/peer/viewlog"
)

// Group property names, stable strings used in JSON and tests.
const (
	GroupAgreement    = "group agreement"
	GroupValidity     = "group validity"
	GroupAccuracy     = "group accuracy"
	GroupCompleteness = "group completeness"
)

// GroupOptions tune how group log lines (printed by `roster client`) are
// judged. The zero value judges clients that only say what happened to them
// in their own lines.
type GroupOptions struct {
	// Killed lists client ids the run killed from outside and left down (no
	// "crashing" line): they count as crashed at an unknown time and stay
	// crashed to the end.
	Killed []string
	// ExpectRemovals lists client ids that may rightly be removed while
	// alive (a scenario that cuts a client off on purpose). Their removals
	// are reported, not counted against accuracy; a client that ends the run
	// alive must still end in the final views (completeness).
	ExpectRemovals []string
	// Joined lists client ids whose joins were recorded elsewhere (a
	// workload's history): they may be members without a "joining" line.
	Joined []string
	// Deadline, when positive and the lines carry timestamps, bounds the
	// time from a client's crash to the first view without it at every live
	// watcher (interval × misses + 1 s for roster's defaults). A client that
	// comes back within the deadline (prints joining again) need not be
	// removed.
	Deadline time.Duration
}

// GroupKind says what a group log record reports.
type GroupKind int

// The kinds of group records.
const (
	// GroupView is a members line: a group state the client saw.
	GroupView GroupKind = iota + 1
	// GroupJoining is message:"joining": a life of the client starts.
	GroupJoining
	// GroupCrash is message:"crashing" (the client exits on purpose without
	// leaving) or message:"killed" (a runner killed it from outside).
	GroupCrash
	// GroupLeaving is message:"leaving": a graceful leave.
	GroupLeaving
	// GroupMessage is any other message.
	GroupMessage
)

// groupKind classifies a group record.
func groupKind(r viewlog.GroupRecord) GroupKind {
	if r.IsView() {
		return GroupView
	}
	switch strings.TrimSpace(r.Message) {
	case viewlog.Joining:
		return GroupJoining
	case viewlog.Crashing, viewlog.Killed:
		return GroupCrash
	case viewlog.Leaving:
		return GroupLeaving
	}
	return GroupMessage
}

// GroupEvent is one group log record as read, with where it came from.
type GroupEvent struct {
	viewlog.GroupRecord
	// Kind says what the record reports.
	Kind GroupKind
	// Source and LineNo locate the line (LineNo is 1-based).
	Source string
	LineNo int
	// Text is the line as read, trimmed, for quoting.
	Text string
	// Name is the "name | " prefix ("" when absent).
	Name string
	// Time is the line's timestamp (zero when absent).
	Time time.Time
	// Seq is the event's position in Run.GroupEvents.
	Seq int
}

// Quote returns where the event's line is and what it says.
func (e *GroupEvent) Quote() Quote {
	return Quote{Source: e.Source, Line: e.LineNo, Text: e.Text}
}

func (run *Run) addGroupEvent(e GroupEvent) {
	e.Seq = len(run.GroupEvents)
	e.Kind = groupKind(e.GroupRecord)
	run.GroupEvents = append(run.GroupEvents, e)
}

// GroupNames returns the groups that appear in the run's group lines, sorted.
func (run *Run) GroupNames() []string {
	seen := map[string]bool{}
	for i := range run.GroupEvents {
		seen[run.GroupEvents[i].Group] = true
	}
	return sortedStrings(seen)
}

// ClientRemoval is one client dropped from a group, and why the checker
// thinks it was.
type ClientRemoval struct {
	Group  string `json:"group"`
	Client string `json:"client"`
	// Index is the first group index seen without the client.
	Index uint64 `json:"index"`
	// Reason is "crashed", "left", "killed", "expected" or "live" (a wrong
	// removal).
	Reason string `json:"reason"`
	// Line is the first line that printed the state without the client.
	Line Quote `json:"line"`
}

// ClientLatency is the time from a client's crash to the first view
// without it at the slowest live watcher.
type ClientLatency struct {
	Group  string `json:"group"`
	Client string `json:"client"`
	// Watcher is the live client that saw the removal last.
	Watcher string    `json:"watcher"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	// Ms is To - From in milliseconds.
	Ms float64 `json:"ms"`
}

// ClientAbsence is a span during which a client that came back was not in
// its group: from the first state printed without it to the first state
// printed with it again (by the lines' timestamps).
type ClientAbsence struct {
	Group  string `json:"group"`
	Client string `json:"client"`
	// From and To are the group indexes that removed and re-added it.
	From uint64 `json:"from_index"`
	To   uint64 `json:"to_index"`
	// Ms is the span in milliseconds; 0 when the lines carry no timestamps.
	Ms float64 `json:"ms"`
}

// GroupFinal is the last state of a group a client printed.
type GroupFinal struct {
	Group   string   `json:"group"`
	Client  string   `json:"client"`
	Index   uint64   `json:"index"`
	Members []string `json:"members"`
	// State is "alive", "crashed" or "left".
	State string `json:"state"`
}

// GroupReport is the checker's verdict on the group lines of a run.
// Immutable after Check.
type GroupReport struct {
	// Groups and Clients name what the lines are about, sorted.
	Groups  []string `json:"groups"`
	Clients []string `json:"clients"`
	// Properties holds the four group properties, in the order of the
	// Group* constants.
	Properties []Property `json:"properties"`
	// Removals lists every client dropped from a group.
	Removals []ClientRemoval `json:"removals"`
	// CrashRemoval measures each crash to the removal at every live
	// watcher (with timestamps).
	CrashRemoval []ClientLatency `json:"crash_to_removal"`
	// Absences lists the clients that were removed and came back.
	Absences []ClientAbsence `json:"absences"`
	// Final lists every client's last state of each group it printed.
	Final []GroupFinal `json:"final"`
	// Lines counts the group lines read.
	Lines int `json:"lines"`
}

// Property returns the named group property, and false when there is none.
func (g *GroupReport) Property(name string) (Property, bool) {
	for _, p := range g.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
