package checker

import (
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// compose_faults_inspect.json is `docker inspect` of test case 1's project
// (docker-compose v1, ROSTER_RUN=chk-) after `docker kill chk-five`,
// `docker restart chk-three`, `docker pause chk-four` and
// `docker network disconnect chk1_roster chk-two`, each once the group had
// reacted to the one before; compose_faults_v1_t.log is its `logs -t`.
func readInspect(t *testing.T) []Container {
	t.Helper()
	b, err := os.ReadFile("testdata/compose_faults_inspect.json")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseInspect(b)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestParseInspect(t *testing.T) {
	cs := readInspect(t)
	by := map[string]Container{}
	for _, c := range cs {
		by[c.Service] = c
	}
	if len(cs) != 5 || len(by) != 5 {
		t.Fatalf("containers %+v", cs)
	}
	five := by["five"]
	if five.Name != "chk-five" || five.Hostname != "five" || five.Status != "exited" || five.ExitCode != 137 || !five.Killed() || five.Running() {
		t.Errorf("five: %+v", five)
	}
	if four := by["four"]; !four.Paused || four.Status != "paused" || !four.Running() || four.Killed() || !four.FinishedAt.IsZero() {
		t.Errorf("four: %+v", four)
	}
	three := by["three"]
	if three.Status != "running" || three.RestartCount != 0 || !three.FinishedAt.Before(three.StartedAt) || three.FinishedAt.IsZero() {
		t.Errorf("three (docker restart): %+v", three)
	}
	if two := by["two"]; !two.Disconnected() || len(two.Networks) != 0 {
		t.Errorf("two: %+v", two)
	}
	if one := by["one"]; one.Disconnected() || !reflect.DeepEqual(one.Networks, []string{"chk1_roster"}) {
		t.Errorf("one: %+v", one)
	}
	if _, err := ParseInspect([]byte("Error: No such object: x")); err == nil {
		t.Error("no error on output that is not JSON")
	}
}

func TestContainerString(t *testing.T) {
	for c, want := range map[*Container]string{
		{Name: "a", Status: "exited", ExitCode: 137}:                         "a exited 137 (killed)",
		{Name: "a", Status: "exited", ExitCode: 1, RestartCount: 2}:          "a exited 1, restarted 2 times",
		{Name: "a", Status: "exited", ExitCode: 137, OOMKilled: true}:        "a exited 137 (OOM killed)",
		{Name: "a", Status: "paused", Paused: true, Networks: []string{"n"}}: "a paused",
		{Name: "a", Status: "running"}:                                       "a running but on no network (disconnected)",
	} {
		if got := c.String(); got != want {
			t.Errorf("%+v: %q, want %q", *c, got, want)
		}
	}
}

// The mapping from the engine's state to checker options, and the verdict
// it gives the run: every fault made outside roster is explained.
func TestApplyContainers(t *testing.T) {
	cs := readInspect(t)
	for _, withHosts := range []bool{true, false} {
		opts := Options{}
		if withHosts {
			opts.Hostsfile = hosts
		}
		run := readFiles(t, opts, "compose_faults_v1_t.log")
		notes := ApplyContainers(&opts, run, cs)
		if len(notes) != 5 || !strings.Contains(strings.Join(notes, "\n"), "peer 5: chk-five exited 137 (killed)") {
			t.Errorf("notes %q", notes)
		}
		if !reflect.DeepEqual(opts.Killed, []int{5}) || !reflect.DeepEqual(opts.Paused, []int{4}) || !reflect.DeepEqual(opts.Disconnected, []int{2}) || opts.Exited != nil {
			t.Errorf("hosts %v: killed %v, paused %v, disconnected %v, exited %v", withHosts, opts.Killed, opts.Paused, opts.Disconnected, opts.Exited)
		}
		var restarted []int
		for _, r := range opts.Restarts {
			if !r.Ended.IsZero() {
				restarted = append(restarted, r.Peer)
			}
		}
		if len(opts.Restarts) != 5 || !reflect.DeepEqual(restarted, []int{3}) {
			t.Errorf("restarts %+v", opts.Restarts)
		}
		rep := Check(run, opts)
		if !rep.OK() || !reflect.DeepEqual(rep.Survivors, []int{1, 3}) || !reflect.DeepEqual(rep.Crashed, []int{2, 4, 5}) {
			t.Errorf("hosts %v: verdict %s, survivors %v, crashed %v, violated %v", withHosts, rep.Verdict, rep.Survivors, rep.Crashed, rep.Violated())
		}
		reasons := map[int]string{}
		for _, r := range rep.Removals {
			reasons[r.Peer] = r.Reason
		}
		if want := map[int]string{5: "killed", 3: "left", 4: "paused", 2: "disconnected"}; !reflect.DeepEqual(reasons, want) {
			t.Errorf("removal reasons %v, want %v", reasons, want)
		}
		// Without the engine's word the same log is judged wrong.
		if rep := Check(run, Options{Hostsfile: opts.Hostsfile}); reflect.DeepEqual(rep.Violated(), []string(nil)) {
			t.Error("the log alone passes")
		}
	}
}

func TestApplyContainersStates(t *testing.T) {
	start := mustTime("20:18:15.000")
	cs := []Container{
		{Name: "x-one", Service: "one", Status: "exited", ExitCode: 0, StartedAt: start},
		{Name: "x-two", Service: "two", Status: "exited", ExitCode: 1, OOMKilled: true},
		{Name: "x-three", Service: "three", Status: "running", RestartCount: 1, Networks: []string{"n"}, StartedAt: start, FinishedAt: start.Add(-time.Second)},
		{Name: "x-four", Service: "four", Status: "created"},
		{Name: "tool", Service: "nemesis", Status: "running", Networks: []string{"n"}},
	}
	opts := Options{Hostsfile: hosts}
	notes := ApplyContainers(&opts, nil, cs)
	sort.Ints(opts.Exited)
	if !reflect.DeepEqual(opts.Exited, []int{1, 4}) || !reflect.DeepEqual(opts.Killed, []int{2}) || opts.Paused != nil || opts.Disconnected != nil {
		t.Errorf("exited %v killed %v paused %v disconnected %v", opts.Exited, opts.Killed, opts.Paused, opts.Disconnected)
	}
	if want := []Restart{{Peer: 1, At: start}, {Peer: 3, At: start, Ended: start.Add(-time.Second)}}; !reflect.DeepEqual(opts.Restarts, want) {
		t.Errorf("restarts %+v", opts.Restarts)
	}
	if !strings.Contains(notes[len(notes)-1], "tool running: not a peer") {
		t.Errorf("notes %q", notes)
	}
}

// A peer whose container exited keeps the state its log gives it.
func TestExitedKeepsLoggedState(t *testing.T) {
	opts := Options{Exited: []int{5}}
	rep := Check(readFiles(t, opts, "tc2_compose_v2_t.log"), opts)
	for _, f := range rep.Final {
		if f.Peer == 5 && f.State != StateCrashed {
			t.Errorf("peer 5 is %s, want crashed", f.State)
		}
	}
	opts = Options{Exited: []int{5}}
	rep = Check(readFiles(t, opts, "killed_v2.log"), opts)
	if !rep.OK() || rep.Removals[0].Reason != StateExited {
		t.Errorf("exited without a record: %s %+v", rep.Verdict, rep.Removals)
	}
}
