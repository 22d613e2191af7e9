package checker

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var hosts = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}

// readFiles reads testdata files into a Run.
func readFiles(t *testing.T, opts Options, names ...string) *Run {
	t.Helper()
	var srcs []Source
	for _, n := range names {
		f, err := os.Open(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		srcs = append(srcs, Source{Name: n, R: f})
	}
	run, err := Read(srcs, opts)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return run
}

func TestLogs(t *testing.T) {
	tc3files := []string{"tc3_files/one.log", "tc3_files/two.log", "tc3_files/three.log", "tc3_files/four.log", "tc3_files/five.log"}
	cases := []struct {
		name      string
		files     []string
		opts      Options
		status    int
		violated  []string // exactly these properties are violated
		survivors []int
		final     int // final view id of the survivors (0: do not check)
		timed     bool
	}{
		// Good runs, in every input shape.
		{name: "tc1 plain combined", files: []string{"tc1_plain.log"}, survivors: []int{1, 2, 3, 4, 5}, final: 5},
		{name: "tc1 compose v1 -t", files: []string{"tc1_compose_v1_t.log"}, survivors: []int{1, 2, 3, 4, 5}, final: 5, timed: true},
		{name: "tc1 compose v1 -t with hostsfile", files: []string{"tc1_compose_v1_t.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1, 2, 3, 4, 5}, final: 5, timed: true},
		{name: "tc2 compose v2", files: []string{"tc2_compose_v2.log"}, survivors: []int{1, 2, 3, 4}, final: 6},
		{name: "tc2 compose v2 -t", files: []string{"tc2_compose_v2_t.log"}, survivors: []int{1, 2, 3, 4}, final: 6, timed: true},
		{name: "tc3 runner", files: []string{"tc3_runner.log"}, survivors: []int{1}, final: 9, timed: true},
		{name: "tc3 one file per peer", files: tc3files, survivors: []int{1}, final: 9},
		{name: "tc4 leader crash", files: []string{"tc4_compose_v2_t.log"}, survivors: []int{2, 3, 4}, final: 7, timed: true},
		{name: "restart and rejoin, v1 project names", files: []string{"restart_v1.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1, 2, 3, 4, 5}, final: 7},
		// Runs of the real peers under `roster lab up -f docker-compose-testcase-N.yml --log`.
		{name: "lab run of test case 1", files: []string{"lab_tc1.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1, 2, 3, 4, 5}, final: 5, timed: true},
		{name: "lab run of test case 2", files: []string{"lab_tc2.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1, 2, 3, 4}, final: 6, timed: true},
		{name: "lab run of test case 3", files: []string{"lab_tc3.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1}, final: 9, timed: true},
		{name: "killed by the runner and restarted", files: []string{"killed_marker_lab.log"}, survivors: []int{1, 2, 3, 4}, final: 6, timed: true},
		{name: "killed from outside", files: []string{"killed_v2.log"}, opts: Options{Killed: []int{5}}, survivors: []int{1, 2, 3, 4}, final: 6},
		{name: "partition, removals expected", files: []string{"partition.log"}, opts: Options{ExpectRemovals: []int{4, 5}}, survivors: []int{1, 2, 3, 4, 5}, final: 9},
		{name: "docker restart: leave, then a new life replays history", files: []string{"restart_leave_v1_t.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1, 2, 3, 4, 5}, final: 7, timed: true},
		{name: "docker kill and start: the joining line starts a new life", files: []string{"restart_kill_start_v1_t.log"}, opts: Options{Hostsfile: hosts}, survivors: []int{1, 2, 3, 4, 5}, final: 7, timed: true},
		{name: "restart known only from the container's start time", files: []string{"restart_unmarked_v1_t.log"}, opts: Options{Hostsfile: hosts, Restarts: []Restart{{Peer: 3, At: mustTime("20:18:15.000"), Ended: mustTime("20:18:12.500")}}}, survivors: []int{1, 2, 3, 4, 5}, final: 7, timed: true},
		{name: "paused from outside", files: []string{"killed_v2.log"}, opts: Options{Paused: []int{5}}, survivors: []int{1, 2, 3, 4}, final: 6},
		{name: "garbage mixed into a good run", files: []string{"garbage_mixed.log"}, survivors: []int{1, 2, 3, 4, 5}, final: 5},
		{name: "silent container unknown without hostsfile", files: []string{"silent_peer_v1_t.log"}, survivors: []int{1, 2, 3, 4}, final: 4, timed: true},

		// Bad runs: each names the property it breaks.
		{name: "conflicting members", files: []string{"bad_agreement_members.log"}, status: 1, violated: []string{Agreement}},
		{name: "conflicting leaders", files: []string{"bad_agreement_leader.log"}, status: 1, violated: []string{Agreement}},
		{name: "view id backwards", files: []string{"bad_order_backwards.log"}, status: 1, violated: []string{Order}},
		{name: "view without itself", files: []string{"bad_order_self_missing.log"}, status: 1, violated: []string{Order}},
		{name: "member never started", files: []string{"bad_validity.log"}, status: 1, violated: []string{Validity}},
		{name: "crashed peer left in final view", files: []string{"bad_completeness_crashed_left.log"}, status: 1, violated: []string{Completeness}},
		{name: "silent container with hostsfile", files: []string{"silent_peer_v1_t.log"}, opts: Options{Hostsfile: hosts}, status: 1, violated: []string{Completeness}, timed: true},
		{name: "live peer removed", files: []string{"bad_accuracy_live_removed.log"}, status: 1, violated: []string{Accuracy}},
		{name: "peer removed before it crashed", files: []string{"bad_accuracy_crash_after_removal_t.log"}, status: 1, violated: []string{Accuracy}, timed: true},
		{name: "partition, removals not expected", files: []string{"partition.log"}, status: 1, violated: []string{Accuracy}},
		{name: "killed peer not declared", files: []string{"killed_v2.log"}, status: 1, violated: []string{Completeness, Accuracy, Convergence}},
		{name: "restart unknown to the checker", files: []string{"restart_unmarked_v1_t.log"}, opts: Options{Hostsfile: hosts}, status: 1, violated: []string{Order, Accuracy}, timed: true},
		{name: "view ids go back within a new life", files: []string{"bad_restart_order_v1_t.log"}, status: 1, violated: []string{Order, Completeness, Convergence}, timed: true},
		{name: "new life removed while alive", files: []string{"bad_restart_live_removed_v1_t.log"}, status: 1, violated: []string{Completeness, Accuracy, Convergence}, timed: true},
		{name: "removed before it left", files: []string{"bad_restart_removed_before_leave_v1_t.log"}, status: 1, violated: []string{Accuracy}, timed: true},
		{name: "survivors on different views", files: []string{"bad_convergence.log"}, status: 1, violated: []string{Convergence}},
		{name: "survivor stuck on an old view", files: []string{"bad_convergence_stuck.log"}, status: 1, violated: []string{Completeness, Convergence}},
		{name: "garbage only", files: []string{"bad_garbage.log"}, status: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := readFiles(t, c.opts, c.files...)
			rep := Check(run, c.opts)
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if got := rep.Status(); got != c.status {
				t.Fatalf("status %d, want %d\n%s", got, c.status, text.String())
			}
			if rep.OK() != (c.status == 0) {
				t.Errorf("OK() = %v with status %d", rep.OK(), c.status)
			}
			if got := rep.Violated(); !reflect.DeepEqual(got, c.violated) {
				t.Fatalf("violated %v, want %v\n%s", got, c.violated, text.String())
			}
			for _, name := range c.violated {
				p, _ := rep.Property(name)
				if len(p.Lines) == 0 && p.Name != Completeness {
					t.Errorf("%s violated without quoting a line", name)
				}
				if !strings.Contains(text.String(), name) {
					t.Errorf("text does not name %s", name)
				}
			}
			if c.survivors != nil && !reflect.DeepEqual(rep.Survivors, c.survivors) {
				t.Errorf("survivors %v, want %v", rep.Survivors, c.survivors)
			}
			if c.final != 0 {
				for _, f := range rep.Final {
					if contains(rep.Survivors, f.Peer) && f.ViewID != c.final {
						t.Errorf("peer %d ends on view %d, want %d", f.Peer, f.ViewID, c.final)
					}
				}
			}
			if rep.Figures.Available != c.timed {
				t.Errorf("figures available %v, want %v", rep.Figures.Available, c.timed)
			}
			if c.status == 2 {
				for _, p := range rep.Properties {
					if p.Verdict != NotApplicable {
						t.Errorf("%s: %s on a run without view lines", p.Name, p.Verdict)
					}
				}
			}
			var js bytes.Buffer
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back struct {
				Status     int `json:"status"`
				Properties []struct {
					Name, Verdict string
				} `json:"properties"`
			}
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatalf("JSON does not parse: %v", err)
			}
			if back.Status != c.status || len(back.Properties) != 6 {
				t.Errorf("JSON status %d with %d properties", back.Status, len(back.Properties))
			}
		})
	}
}

func TestFiguresTC2(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "tc2_compose_v2_t.log"), Options{})
	cr := rep.Figures.CrashRemoval
	if len(cr.Latencies) != 1 {
		t.Fatalf("crash to removal: %+v", cr)
	}
	// five printed crashing at 12.004422911; three, the last of 1-4, printed view 6 at 14.314790615.
	if l := cr.Latencies[0]; l.Peer != 5 || l.ViewID != 6 || l.D != 2310367704*time.Nanosecond {
		t.Errorf("crash to removal %+v", l)
	}
	if n := len(rep.Figures.Join.Latencies); n != 5 {
		t.Errorf("%d join latencies, want 5", n)
	}
	if n := len(rep.Figures.Failover.Latencies); n != 0 {
		t.Errorf("%d failovers in a run where no leader crashed", n)
	}
}

func TestFiguresTC1Join(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "tc1_compose_v1_t.log"), Options{})
	want := map[int]time.Duration{
		1: mustTime("20:18:01.012338120").Sub(mustTime("20:18:00.004118233")),
		5: mustTime("20:18:08.404549802").Sub(mustTime("20:18:08.006733190")),
		// three joins in view 3; of its members, three printed it last.
		3: mustTime("20:18:04.383662385").Sub(mustTime("20:18:04.005207718")),
	}
	got := map[int]time.Duration{}
	for _, l := range rep.Figures.Join.Latencies {
		got[l.Peer] = l.D
	}
	for p, d := range want {
		if got[p] != d {
			t.Errorf("join latency of peer %d: %v, want %v", p, got[p], d)
		}
	}
	if s := rep.Figures.Join.Stats; s == nil || s.N != 5 {
		t.Errorf("join stats %+v", s)
	}
}

func TestFiguresTC4Failover(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "tc4_compose_v2_t.log"), Options{})
	fo := rep.Figures.Failover
	if len(fo.Latencies) != 1 {
		t.Fatalf("failover: %+v", fo)
	}
	if l := fo.Latencies[0]; l.Peer != 1 || l.ViewID != 7 || l.D != mustTime("20:18:16.312660981").Sub(mustTime("20:18:14.311502664")) {
		t.Errorf("failover %+v", l)
	}
	got := map[int]time.Duration{}
	for _, l := range rep.Figures.CrashRemoval.Latencies {
		got[l.Peer] = l.D
	}
	want := map[int]time.Duration{
		5: mustTime("20:18:15.402271113").Sub(mustTime("20:18:12.004422911")),
		1: mustTime("20:18:16.318544270").Sub(mustTime("20:18:14.311502664")),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("crash to removal %v, want %v", got, want)
	}
}

func TestFiguresKilledMarker(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "killed_marker_lab.log"), Options{})
	cr := rep.Figures.CrashRemoval.Latencies
	if len(cr) != 1 || cr[0].Peer != 3 || cr[0].ViewID != 5 || cr[0].D != mustTime("20:18:12.105003149").Sub(mustTime("20:18:10.000210551")) {
		t.Errorf("crash to removal %+v", cr)
	}
	if r := rep.Removals; len(r) != 1 || r[0].Reason != "crashed" {
		t.Errorf("removals %+v", r)
	}
}

func TestFiguresNotAvailableWithoutTimestamps(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "tc1_plain.log"), Options{})
	var text bytes.Buffer
	rep.WriteText(&text)
	if rep.Figures.Available || !strings.Contains(text.String(), "figures: not available") {
		t.Errorf("figures on a log without timestamps:\n%s", text.String())
	}
}

func TestRemovalsExplained(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "tc3_runner.log"), Options{})
	var got []string
	for _, r := range rep.Removals {
		got = append(got, r.Reason)
	}
	if want := []string{"crashed", "crashed", "crashed", "crashed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("removal reasons %v, want %v", got, want)
	}
	rep = Check(readFiles(t, Options{}, "partition.log"), Options{ExpectRemovals: []int{4, 5}})
	p, _ := rep.Property(Accuracy)
	if p.Verdict != Held || !strings.Contains(p.Detail, "2 expected") {
		t.Errorf("accuracy with expected removals: %+v", p)
	}
}

func TestRestartLives(t *testing.T) {
	rep := Check(readFiles(t, Options{}, "restart_leave_v1_t.log"), Options{})
	if r := rep.Removals; len(r) != 1 || r[0].Peer != 3 || r[0].ViewID != 6 || r[0].Reason != "left" {
		t.Errorf("removals %+v", r)
	}
	for _, f := range rep.Final {
		if want := map[bool]int{true: 2, false: 1}[f.Peer == 3]; f.Lives != want || f.State != StateAlive {
			t.Errorf("peer %d: %d lives, %s; want %d, alive", f.Peer, f.Lives, f.State, want)
		}
	}
	rep = Check(readFiles(t, Options{}, "restart_kill_start_v1_t.log"), Options{})
	if r := rep.Removals; len(r) != 1 || r[0].Reason != "restarted" {
		t.Errorf("removals %+v", r)
	}
	// A removal after the restart's known end is explained; one before it is not.
	for _, c := range []struct {
		ended  string
		reason string
	}{{"20:18:12.500", "restarted"}, {"20:18:14.000", "live"}} {
		opts := Options{Restarts: []Restart{{Peer: 3, At: mustTime("20:18:15.000"), Ended: mustTime(c.ended)}}}
		rep = Check(readFiles(t, opts, "restart_unmarked_v1_t.log"), opts)
		if r := rep.Removals; len(r) != 1 || r[0].Reason != c.reason {
			t.Errorf("ended at %s: removals %+v, want one %s", c.ended, r, c.reason)
		}
	}
}

// A peer that left gracefully is labelled so, not "crashed".
func TestLeftLabel(t *testing.T) {
	in := "{peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\n" +
		"{peer_id:2, view_id: 2, leader: 1, memb_list: [1,2]}\n{peer_id:1, view_id: 2, leader: 1, memb_list: [1,2]}\n" +
		"{peer_id:3, view_id: 3, leader: 1, memb_list: [1,2,3]}\n{peer_id:1, view_id: 3, leader: 1, memb_list: [1,2,3]}\n{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}\n" +
		"{peer_id:2, view_id: 3, leader: 1, message:\"leaving\"}\n{peer_id:3, view_id: 3, leader: 1, message:\"crashing\"}\n" +
		"{peer_id:1, view_id: 4, leader: 1, memb_list: [1]}\n"
	run, err := Read([]Source{{Name: "in", R: strings.NewReader(in)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(run, Options{})
	var text bytes.Buffer
	rep.WriteText(&text)
	if !reflect.DeepEqual(rep.Left, []int{2}) || !reflect.DeepEqual(rep.Crashed, []int{3}) || !rep.OK() {
		t.Errorf("left %v, crashed %v\n%s", rep.Left, rep.Crashed, text.String())
	}
	for _, want := range []string{"crashed [3], left [2], survivors [1]", "peer 2: view 3, leader 1, members [1,2,3]  (left)", "peer 3: view 3, leader 1, members [1,2,3]  (crashed)", "(1 left, 1 crashed)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, run, rep); err != nil || !strings.Contains(page.String(), "(left)") {
		t.Errorf("page lacks (left): %v", err)
	}
}

func TestHostsfileNames(t *testing.T) {
	run := readFiles(t, Options{Hostsfile: hosts}, "silent_peer_v1_t.log")
	if want := []int{1, 2, 3, 4, 5}; !reflect.DeepEqual(run.Started, want) {
		t.Errorf("started %v, want %v", run.Started, want)
	}
	if run.Names[5] != "e2e123-five" {
		t.Errorf("name of 5: %q", run.Names[5])
	}
	run = readFiles(t, Options{}, "silent_peer_v1_t.log")
	if want := []int{1, 2, 3, 4}; !reflect.DeepEqual(run.Started, want) {
		t.Errorf("without hostsfile: started %v, want %v", run.Started, want)
	}
}

func TestResolveName(t *testing.T) {
	for name, want := range map[string]int{
		"one": 1, "one-1": 1, "roster-one-1": 1, "roster_one_1": 1, "e2e123-one": 1,
		"e2e123-three": 3, "three_12": 3, "lab.five": 5, "none": 0, "one2": 0, "xone": 0,
		// Swarm tasks: service.slot.taskid (truncated or not), service.nodeid.taskid.
		"stack_one.1.kaxl7mzl6dbf": 1, "stack_three.1.zfzxz9t9fgso8nw9khumjhtqj": 3,
		"stack_two.sg6119jh2w43vaewnhkl2pk5g.kaxl7mzl6dbfyq4iajsxdw1i5": 2,
		"one.1.x": 0, "stack_one.x.kaxl7mzl6dbf": 0,
	} {
		got, ok := resolveName(name, hosts)
		if ok != (want != 0) || got != want {
			t.Errorf("resolveName(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}

func TestReadError(t *testing.T) {
	_, err := Read([]Source{{Name: "broken", R: errReader{}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("err = %v, want one naming the source", err)
	}
}

func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", 3*maxLineLen) + "\n{peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\n"
	run, err := Read([]Source{{Name: "long", R: strings.NewReader(long)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Events) != 1 || run.Events[0].LineNo != 2 || run.Lines != 2 {
		t.Errorf("events %+v, lines %d", run.Events, run.Lines)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrPermission }

func mustTime(clock string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, "2026-11-21T"+clock+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

// FuzzRun feeds pairs of lines through Read, Check and every writer: no
// panics, no hangs, whatever the timestamps and ids.
func FuzzRun(f *testing.F) {
	f.Add("one | 2026-11-21T20:18:01Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}",
		"two | 2026-11-21T20:18:02Z {peer_id:2, view_id: 2, leader: 1, memb_list: [1,2]}")
	f.Add("0001-01-01T00:00:01Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}",
		"9999-01-01T00:00:00Z {peer_id:1, view_id: 2, leader: 1, memb_list: [1]}")
	f.Add(`{peer_id:5, view_id: 5, leader: 5, message:"crashing"}`,
		"{peer_id:1, view_id: 1073741824, leader: 7, memb_list: [1,1,1073741824]}")
	f.Add(`2026-11-21T20:18:09Z {peer_id:1, view_id: 6, leader: 1, message:"peer 3 unreachable"}`,
		"2026-11-21T20:18:01Z {peer_id:3, view_id: 0, leader: 0, memb_list: []}")
	f.Add(`three | 2026-11-21T20:18:12Z {peer_id:3, view_id: 5, leader: 1, message:"leaving"}`,
		`three | 2026-11-21T20:18:13Z {peer_id:3, view_id: 0, leader: 0, message:"joining"}`)
	f.Add(`{peer_id:1, view_id: 1, leader: 1, message:"crashing"}`,
		`2026-11-21T20:18:16Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		in := a + "\n" + b + "\n" + a + "\n"
		run, err := Read([]Source{{Name: "fuzz", R: strings.NewReader(in)}}, Options{Hostsfile: hosts})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 21, 20, 18, 15, 0, time.UTC)
		rep := Check(run, Options{Killed: []int{2}, ExpectRemovals: []int{3}, Paused: []int{4}, Exited: []int{1, 5}, Disconnected: []int{3},
			Restarts: []Restart{{Peer: 1, At: at, Ended: at.Add(-time.Second)}, {Peer: 3, At: at}, {Peer: 1, At: at.Add(-time.Hour)}}})
		var sb strings.Builder
		if err := rep.WriteText(&sb); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteJSON(&sb); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&sb, run, rep); err != nil {
			t.Fatal(err)
		}
		if st := rep.Status(); st < 0 || st > 2 {
			t.Fatalf("status %d", st)
		}
		// Lives only split a peer's lines: every line is in exactly one.
		a2 := analyse(run, Options{Restarts: []Restart{{Peer: 1, At: at}}})
		for _, p := range run.Started {
			n := 0
			for _, l := range a2.lives[p] {
				n += len(l.events)
			}
			if n != len(run.PeerEvents(p)) {
				t.Fatalf("peer %d: %d events in lives, %d read", p, n, len(run.PeerEvents(p)))
			}
		}
	})
}

// FuzzParseInspect: no engine output panics the mapping.
func FuzzParseInspect(f *testing.F) {
	b, err := os.ReadFile("testdata/compose_faults_inspect.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`[{"Name":"/x-one","State":{"Status":"exited","ExitCode":137,"StartedAt":"2026-11-21T20:18:15Z","FinishedAt":"0001-01-01T00:00:00Z"},"Config":{"Labels":{"com.docker.compose.service":"one"}}}]`))
	f.Add([]byte(`[{"Name":"","State":{"Status":"running"},"NetworkSettings":{"Networks":null}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ParseInspect(data)
		if err != nil {
			return
		}
		opts := Options{Hostsfile: hosts}
		run, err := Read([]Source{{Name: "x", R: strings.NewReader("one | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\n")}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if notes := ApplyContainers(&opts, run, cs); len(notes) != len(cs) {
			t.Fatalf("%d notes for %d containers", len(notes), len(cs))
		}
		for _, c := range cs {
			_ = c.String()
		}
		Check(run, opts)
	})
}

func TestViolationDetails(t *testing.T) {
	cases := []struct {
		file, prop, detail string
		count              int
	}{
		{"bad_completeness_crashed_left.log", Completeness, "crashed peer 3 is still in the final views of [1,2]", 2},
		{"bad_agreement_leader.log", Agreement, "view 4 has leader 1 at peer 1 but leader 2 at peer 4", 1},
		{"bad_order_backwards.log", Order, "peer 2's view id went back from 4 to 3", 1},
		{"bad_order_self_missing.log", Order, "peer 3 printed view 2 [1,2] without itself", 1},
		{"bad_validity.log", Validity, "view 3 has member 7, which never printed anything", 1},
		{"bad_accuracy_live_removed.log", Accuracy, "1 removal of live peers [3]: view 4 removed peer 3, which was alive (no crash before it)", 1},
		{"bad_convergence.log", Convergence, "survivors end on different views: view 3 at [3], view 4 at [1,2]", 3},
	}
	for _, c := range cases {
		rep := Check(readFiles(t, Options{}, c.file), Options{})
		p, _ := rep.Property(c.prop)
		if p.Verdict != Violated || p.Detail != c.detail || p.Count != c.count {
			t.Errorf("%s: %s is %s, %d offences: %q\nwant %d: %q", c.file, c.prop, p.Verdict, p.Count, p.Detail, c.count, c.detail)
		}
	}
}
