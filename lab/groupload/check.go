package groupload

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// Linearizability is the verdict of Porcupine on a history.
type Linearizability struct {
	// Result is "Ok", "Illegal" or "Unknown" (the check timed out).
	Result string `json:"result"`
	// Ops counts the operations checked; Unknown those whose outcome was
	// unknown (they may take effect at any time after their start, or
	// never); Dropped the failed calls and failed reads left out (they
	// changed nothing).
	Ops     int `json:"ops"`
	Unknown int `json:"unknown"`
	Dropped int `json:"dropped"`
	// Groups lists each group's own verdict.
	Groups []GroupVerdict `json:"groups"`
	// Took is how long the check ran.
	Took time.Duration `json:"-"`
	Ms   float64       `json:"ms"`
}

// GroupVerdict is the verdict on one group's operations.
type GroupVerdict struct {
	Group  string `json:"group"`
	Ops    int    `json:"ops"`
	Result string `json:"result"`
}

// OK reports whether every group's history was found linearizable.
func (l *Linearizability) OK() bool { return l.Result == string(porcupine.Ok) }

// Operations turns a history into Porcupine operations: times in
// nanoseconds from the first start; an operation with an unknown outcome
// returns "never", after everything else; failed calls and reads without an
// answer are left out. An expire returns when the client's next answered
// join or leave in that group returned (from then on the killed life's
// removal changes nothing: the life was replaced or is gone), or never if
// there is none. It returns the operations and how many were left out.
func Operations(ops []Op) ([]porcupine.Operation, int) {
	if len(ops) == 0 {
		return nil, 0
	}
	t0, tEnd := ops[0].Start, ops[0].Start
	for _, op := range ops {
		if op.Start.Before(t0) {
			t0 = op.Start
		}
		tEnd = maxTime(tEnd, op.Start, op.End)
	}
	never := tEnd.Sub(t0).Nanoseconds() + int64(time.Hour)
	var out []porcupine.Operation
	dropped := 0
	for _, op := range ops {
		in := input{kind: op.Kind, group: op.Group, client: op.Client}
		o := output{known: op.OK, inc: op.Incarnation, members: op.Members}
		ret := op.End.Sub(t0).Nanoseconds()
		switch {
		case op.Kind == OpExpire:
			in.inc, ret = op.Incarnation, never
			if next, ok := nextAnswered(ops, op); ok {
				ret = next.Sub(t0).Nanoseconds()
			}
		case op.Failed, op.Kind == OpRead && !op.OK:
			dropped++
			continue
		case op.Unknown():
			ret = never
		}
		out = append(out, porcupine.Operation{
			ClientId: op.Worker, Input: in, Output: o,
			Call: op.Start.Sub(t0).Nanoseconds(), Return: ret,
			Metadata: op.Peer,
		})
	}
	return out, dropped
}

// nextAnswered returns when the first answered join or leave of the
// expired client in its group, begun after the kill, returned.
func nextAnswered(ops []Op, expire Op) (time.Time, bool) {
	var best time.Time
	for _, op := range ops {
		if op.Group != expire.Group || op.Client != expire.Client || !op.OK || op.Start.Before(expire.Start) ||
			op.Kind != OpJoin && op.Kind != OpLeave {
			continue
		}
		if best.IsZero() || op.End.Before(best) {
			best = op.End
		}
	}
	return best, !best.IsZero()
}

func maxTime(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// Check runs Porcupine on the history within timeout (0: no limit), and,
// when vis is not nil, writes Porcupine's HTML visualization of the whole
// history to it.
func Check(ops []Op, timeout time.Duration, vis io.Writer) (*Linearizability, error) {
	return CheckWithEvents(ops, timeout, vis, nil)
}

// CheckWithEvents is Check with the workload's faults (kills) marked on
// the visualization.
func CheckWithEvents(ops []Op, timeout time.Duration, vis io.Writer, events []Event) (*Linearizability, error) {
	start := time.Now()
	pops, dropped := Operations(ops)
	l := &Linearizability{Ops: len(pops), Dropped: dropped, Result: string(porcupine.Ok)}
	model := Model()
	// One search of the whole history (Porcupine partitions it by group)
	// gives the verdict and the picture; only when it finds the history
	// illegal is each group searched alone, to name the broken ones.
	res, info := porcupine.CheckOperationsVerbose(model, pops, timeout)
	l.Result = string(res)
	for _, part := range partitionByGroup(pops) {
		g := part[0].Input.(input).group
		gres := res
		if res == porcupine.Illegal {
			gres = porcupine.CheckOperationsTimeout(model, part, timeout)
		}
		l.Groups = append(l.Groups, GroupVerdict{Group: g, Ops: len(part), Result: string(gres)})
	}
	for _, op := range pops {
		if !op.Output.(output).known && op.Input.(input).kind != OpExpire {
			l.Unknown++
		}
	}
	if vis != nil {
		info.AddAnnotations(annotations(ops, events))
		if err := porcupine.Visualize(model, info, vis); err != nil {
			return l, fmt.Errorf("visualization: %v", err)
		}
	}
	l.Took = time.Since(start)
	l.Ms = float64(l.Took.Microseconds()) / 1000
	slices.SortFunc(l.Groups, func(a, b GroupVerdict) int {
		if a.Group < b.Group {
			return -1
		}
		if a.Group > b.Group {
			return 1
		}
		return 0
	})
	return l, nil
}

// annotations marks the events on the visualization's "faults" lane, on
// the clock Operations uses.
func annotations(ops []Op, events []Event) []porcupine.Annotation {
	if len(ops) == 0 {
		return nil
	}
	t0 := ops[0].Start
	for _, op := range ops {
		if op.Start.Before(t0) {
			t0 = op.Start
		}
	}
	out := make([]porcupine.Annotation, 0, len(events))
	for _, e := range events {
		at := e.At.Sub(t0).Nanoseconds()
		out = append(out, porcupine.Annotation{Tag: "faults", Start: at, End: at, Description: e.What, BackgroundColor: "#f4c7c3"})
	}
	return out
}
