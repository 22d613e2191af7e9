package soak

import (
	"roster/lab/labtest"
	"roster/lab/runner"

	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/nemesis"
)

// TestSoakRunWithTheRealPeer runs a fixed soak plan with the real roster
// binary: the leader is killed and started again, then a partition cuts
// {4,5} off and heals. The checker must pass, with the kill recorded as a
// "killed" line in the judged log and the cut-off peers' removals expected.
// It takes about 25 s; -short skips it.
func TestSoakRunWithTheRealPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 24 s scenario with real peers; skipped with -short")
	}
	_, bin := labtest.BuildRoster(t)
	ev := func(at time.Duration, words ...string) Event {
		a, err := nemesis.ParseAction(words)
		if err != nil {
			t.Fatal(err)
		}
		return Event{Step: nemesis.Step{At: at, Action: a}, StartOf: -1}
	}
	plan := Plan{Seed: 1, Duration: 24 * time.Second, Events: []Event{
		ev(5*time.Second, "kill", "leader"),
		ev(8*time.Second, "start", "leader"),
		ev(11*time.Second, "partition", "1,2,3/4,5"),
		ev(14*time.Second, "heal"),
	}, Expect: []string{"4", "5"}}
	plan.Events[1].StartOf = 0

	r := RunPlan(context.Background(), plan, runner.Options{Roster: bin})
	if r.Err != nil {
		t.Fatalf("run: %v\nsteps: %q", r.Err, r.Steps)
	}
	if len(r.Failures) > 0 {
		t.Errorf("peers failed: %q", r.Failures)
	}
	if len(r.Steps) != 4 {
		t.Errorf("steps done: %q", r.Steps)
	}
	if len(r.Kills) != 1 || !r.Kills[0].Leader || r.Kills[0].ID == 0 {
		t.Fatalf("kills %+v, want one, of the leader", r.Kills)
	}
	if !strings.Contains(string(r.Log), `message:"killed"}`) {
		t.Error(`no "killed" line in the judged log`)
	}
	if strings.Contains(string(r.Log), `message:"leaving"`) {
		t.Error("the peers' goodbyes at the end of the run were judged")
	}
	if !slices.Equal(r.Expect, []int{4, 5}) {
		t.Errorf("expected removals %v, want [4 5]", r.Expect)
	}
	rep := r.Verdict.Report
	if rep.Status() != 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("checker:\n%s\nsteps: %q\nlog:\n%s", b.String(), r.Steps, r.Log)
	}
	if len(rep.Survivors) != 5 {
		t.Errorf("survivors %v, want all five back", rep.Survivors)
	}
	if n := len(rep.Figures.CrashRemoval.Latencies); n != 1 {
		t.Errorf("%d crash-to-removal latencies, want 1", n)
	}
}
