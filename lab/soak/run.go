package soak

import (
	"roster/lab/runner"

	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"roster/lab/checker"
	"roster/lab/nemesis"
)

// Run is the outcome of one soak run. Plain data.
type Run struct {
	Plan Plan
	// Verdict is the checker's judgement (nil when Err is set).
	Verdict *runner.Verdict
	// Expect are the ids the checker was told may rightly be removed.
	Expect []int
	// Kills lists the kills done, in order.
	Kills []Kill
	// Steps has one line per step done, as `roster nemesis` prints them.
	Steps []string
	// Failures lists unexpected exits of peers (the runner's lines).
	Failures []string
	// Log is the judged log: the run's collected log, cut at the end of the
	// scenario (the peers' goodbyes when they are stopped are not part of
	// it), with a "killed" record where each kill happened.
	Log []byte
	// Elapsed is how long the run took.
	Elapsed time.Duration
	// Err is set when the run could not be carried out or judged.
	Err error
}

// Violated names the properties the checker found violated.
func (r *Run) Violated() []string {
	if r.Verdict == nil {
		return nil
	}
	return r.Verdict.Report.Violated()
}

// Kill is one kill a soak run did. Plain data.
type Kill struct {
	// Name and ID are the peer's.
	Name string `json:"name"`
	ID   int    `json:"id"`
	// At is when it was killed.
	At time.Time `json:"at"`
	// Leader is true when the step killed "leader".
	Leader bool `json:"leader"`
}

// killRecord is one kill the soak did, and when the peer was started again.
type killRecord struct {
	name      string
	leader    bool      // the step named "leader"
	at, start time.Time // start is zero when the peer stayed down
}

// recorder carries out kills and starts through the run's Control and
// remembers when they happened. Safe for concurrent use.
type recorder struct {
	ctl      *runner.Control
	mu       sync.Mutex
	asLeader bool // the next kill is of "leader"
	kills    []killRecord
}

// Kill kills the peer and records when.
func (r *recorder) Kill(name string) error {
	at := time.Now()
	if err := r.ctl.Kill(name); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kills = append(r.kills, killRecord{name: name, at: at, leader: r.asLeader})
	return nil
}

// Start starts the peer again and records when on its last kill.
func (r *recorder) Start(name string) error {
	at := time.Now()
	if err := r.ctl.Start(name); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.kills) - 1; i >= 0; i-- {
		if r.kills[i].name == name {
			if r.kills[i].start.IsZero() {
				r.kills[i].start = at
			}
			break
		}
	}
	return nil
}

// scenario is the scenario of a soak run: five peers with the fault
// API, each with a fault seed derived from the run's seed.
func scenario(p Plan) *runner.Scenario {
	sc := &runner.Scenario{File: fmt.Sprintf("soak run (seed %d)", p.Seed), Duration: p.Duration}
	for i, name := range soakPeers {
		sc.Services = append(sc.Services, runner.Service{
			Name: name, Peer: name,
			Args: append([]string{"--faults", "--fault-seed", strconv.FormatUint(p.Seed*16+uint64(i)+1, 10)}, p.PeerArgs...),
		})
	}
	return sc
}

// RunPlan carries out one soak run with opts (Out, Roster, Diag, ...;
// OnStart is the soak's own) and judges it. It returns when every process
// has stopped.
func RunPlan(ctx context.Context, plan Plan, opts runner.Options) *Run {
	out := &Run{Plan: plan}
	sc := scenario(plan)
	stopAt := time.Now().Add(plan.Duration)

	stepCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rec *recorder
	var mu sync.Mutex
	resolved := map[int]string{} // event index -> the peer a kill or pause reached
	done := make(chan struct{})
	opts.OnStart = func(ctl *runner.Control) {
		defer close(done)
		start := time.Now()
		var targets []nemesis.Target
		for _, ep := range ctl.Endpoints() {
			targets = append(targets, nemesis.Target{Name: ep.Peer, ID: ep.ID, API: ep.APIAddr()})
		}
		peers, err := nemesis.NewPeers(targets)
		if err != nil {
			mu.Lock()
			out.Steps = append(out.Steps, "soak: "+err.Error())
			mu.Unlock()
			return
		}
		mu.Lock()
		rec = &recorder{ctl: ctl}
		mu.Unlock()
		r := &nemesis.Runner{Peers: peers, Procs: rec, Retry: 2 * time.Second}
		for i, ev := range plan.Events {
			t := time.NewTimer(time.Until(start.Add(ev.At)))
			select {
			case <-stepCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			act := ev.Action
			if ev.StartOf >= 0 {
				mu.Lock()
				name, ok := resolved[ev.StartOf]
				mu.Unlock()
				if !ok {
					continue // the kill did not happen
				}
				act.Peers = []string{name}
			}
			rec.mu.Lock()
			rec.asLeader = act.Kind == nemesis.Kill && act.Peers[0] == "leader"
			rec.mu.Unlock()
			res := r.Do(stepCtx, act)
			line := fmt.Sprintf("nemesis: %6.2fs %s: %s", time.Since(start).Seconds(), nemesis.Step{At: ev.At, Action: act}, res)
			mu.Lock()
			if len(res.OK) == 1 && (act.Kind == nemesis.Kill || act.Kind == nemesis.Pause) {
				resolved[i] = res.OK[0]
			}
			out.Steps = append(out.Steps, line)
			mu.Unlock()
		}
	}
	res, err := runner.Run(ctx, sc, opts)
	cancel()
	if res != nil {
		<-done // Run called OnStart: wait for the schedule to notice the end
	}
	if err != nil {
		out.Err = err
		return out
	}
	out.Elapsed = res.Elapsed
	out.Failures = res.Failures
	if res.Interrupted {
		out.Err = fmt.Errorf("interrupted")
		return out
	}

	var kills []killRecord
	if rec != nil {
		kills = rec.kills
	}
	out.Log = soakLog(res.Log, res.Hostsfile, kills, stopAt)
	for _, k := range kills {
		out.Kills = append(out.Kills, Kill{Name: k.name, ID: res.Hostsfile[k.name], At: k.at, Leader: k.leader})
	}

	names := append([]string(nil), plan.Expect...)
	for i, name := range resolved {
		if plan.Events[i].Kind == nemesis.Pause {
			names = append(names, name)
		}
	}
	if out.Expect, err = res.IDs(names); err != nil {
		out.Err = err
		return out
	}
	copts := checker.Options{Hostsfile: res.Hostsfile, Killed: res.Killed(), ExpectRemovals: out.Expect}
	run, err := checker.Read([]checker.Source{{Name: "soak", R: bytes.NewReader(out.Log)}}, copts)
	if err != nil {
		out.Err = fmt.Errorf("checker: %w", err)
		return out
	}
	out.Verdict = &runner.Verdict{Run: run, Report: checker.Check(run, copts)}
	return out
}

// writeLog saves a run's judged log and its schedule to dir.
func writeLog(dir string, r *Run) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# soak run seed %d, %v: %s\n", r.Plan.Seed, r.Plan.Duration, r.Plan)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "# %s\n", s)
	}
	b.Write(r.Log)
	path := fmt.Sprintf("%s/soak-%d.log", dir, r.Plan.Seed)
	return path, os.WriteFile(path, b.Bytes(), 0o644)
}
