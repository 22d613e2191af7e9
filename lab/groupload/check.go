package groupload

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Linearizability is the verdict of Porcupine on a history.
type Linearizability struct {
	// Result is "Ok" (every group's history is linearizable), "Illegal"
	// (some group's is not: by the group model, or by the per-client one,
	// which rejects only what the group model rejects too) or "Unknown"
	// (some group's search ran out of time and nothing was found illegal).
	Result string `json:"result"`
	// PerClient is the verdict of the per-client check (ClientModel) on
	// the groups whose group check did not find them Ok ("" when every
	// group was Ok): a weaker check that decides fast.
	PerClient string `json:"per_client,omitempty"`
	// Ops counts the operations checked; Unknown those whose outcome was
	// unknown (they may take effect at any time after their start, or
	// never); Dropped the failed calls and failed reads left out (they
	// changed nothing).
	Ops     int `json:"ops"`
	Unknown int `json:"unknown"`
	Dropped int `json:"dropped"`
	// Groups lists each group's own verdict.
	Groups []GroupVerdict `json:"groups"`
	// Visualization is "full", "partial" (its search ran out of time: the
	// picture shows the longest linearizations found) or "" (none made).
	Visualization string `json:"visualization,omitempty"`
	// Took is how long the check ran.
	Took time.Duration `json:"-"`
	Ms   float64       `json:"ms"`
}

// GroupVerdict is the verdict on one group's operations.
type GroupVerdict struct {
	Group  string `json:"group"`
	Ops    int    `json:"ops"`
	Result string `json:"result"`
	// PerClient is the per-client check's verdict, when the group check's
	// was not Ok.
	PerClient string `json:"per_client,omitempty"`
	// Ms is how long the group's checks ran.
	Ms float64 `json:"ms"`
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

// Check runs Porcupine on the history, each group's search within timeout
// (0: no limit), and, when vis is not nil, writes Porcupine's HTML
// visualization of the whole history to it.
func Check(ops []Op, timeout time.Duration, vis io.Writer) (*Linearizability, error) {
	return CheckWithEvents(ops, timeout, vis, nil)
}

// visTimeout bounds the search that draws the visualization, beyond the
// searches that decide, when the check has no timeout.
const visTimeout = time.Minute

// CheckWithEvents is Check with the workload's faults (kills) marked on
// the visualization. Each group is searched alone with the group model
// (Model), the groups in parallel, each within timeout; a group not found
// Ok is searched again one client at a time (ClientModel), which decides
// fast and can only confirm an illegal history. The visualization comes
// from one more search of the whole history, within timeout (1 min when
// timeout is 0).
func CheckWithEvents(ops []Op, timeout time.Duration, vis io.Writer, events []Event) (*Linearizability, error) {
	start := time.Now()
	pops, dropped := Operations(ops)
	l := &Linearizability{Ops: len(pops), Dropped: dropped}
	parts := partitionByGroup(pops)
	l.Groups = make([]GroupVerdict, len(parts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l.Groups[i] = checkGroup(part, timeout)
		}()
	}
	wg.Wait()
	l.Result, l.PerClient = verdicts(l.Groups)
	for _, op := range pops {
		if !op.Output.(output).known && op.Input.(input).kind != OpExpire {
			l.Unknown++
		}
	}
	if vis != nil {
		vt := visTimeout
		if timeout > 0 {
			vt = timeout
		}
		res, info := porcupine.CheckOperationsVerbose(Model(), pops, vt)
		l.Visualization = "full"
		if res == porcupine.Unknown {
			l.Visualization = "partial"
		}
		info.AddAnnotations(annotations(ops, events))
		if err := porcupine.Visualize(Model(), info, vis); err != nil {
			return l, fmt.Errorf("visualization: %v", err)
		}
	}
	l.Took = time.Since(start)
	l.Ms = float64(l.Took.Microseconds()) / 1000
	return l, nil
}

// checkGroup decides one group's operations: with the group model, then,
// unless that found them Ok, one client at a time.
func checkGroup(part []porcupine.Operation, timeout time.Duration) GroupVerdict {
	t := time.Now()
	v := GroupVerdict{Group: part[0].Input.(input).group, Ops: len(part)}
	v.Result = string(porcupine.CheckOperationsTimeout(Model(), part, timeout))
	if v.Result != string(porcupine.Ok) {
		v.PerClient = string(porcupine.CheckOperationsTimeout(ClientModel(), part, timeout))
		if v.PerClient == string(porcupine.Illegal) {
			v.Result = string(porcupine.Illegal) // the group model would reject it too
		}
	}
	v.Ms = float64(time.Since(t).Microseconds()) / 1000
	return v
}

// verdicts returns the overall verdict of the groups' (Illegal beats
// Unknown beats Ok) and that of the per-client checks that ran.
func verdicts(gs []GroupVerdict) (result, perClient string) {
	rank := map[string]int{"": 0, string(porcupine.Ok): 1, string(porcupine.Unknown): 2, string(porcupine.Illegal): 3}
	result = string(porcupine.Ok)
	for _, g := range gs {
		if rank[g.Result] > rank[result] {
			result = g.Result
		}
		if rank[g.PerClient] > rank[perClient] {
			perClient = g.PerClient
		}
	}
	return result, perClient
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
