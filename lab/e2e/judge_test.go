package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
	"roster/peer/hostsfile"
)

var names = []string{"", "one", "two", "three", "four", "five"}

// goodCase2Log is what a correct run of test case 2 prints: joins 2 s apart,
// five crashes at 12 s, and peers 1-4 install view 6 [1,2,3,4].
func goodCase2Log() string {
	var b strings.Builder
	t0 := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	add := func(at time.Duration, peer int, text string) {
		fmt.Fprintf(&b, "%-5s | %s %s\n", names[peer], t0.Add(at).Format(time.RFC3339Nano), text)
	}
	for v := 1; v <= 5; v++ {
		at := time.Duration(2*(v-1)) * time.Second
		for p := 1; p <= v; p++ {
			add(at+time.Duration(p)*time.Millisecond, p, fmt.Sprintf("{peer_id:%d, view_id: %d, leader: 1, memb_list: %s}", p, v, fmtMembers(seq(1, v))))
		}
	}
	add(11*time.Second, 3, "2026-11-21T20:00:11.000Z [WARN]  memberlist: some diagnostic")
	add(12*time.Second, 5, `{peer_id:5, view_id: 5, leader: 1, message:"crashing"}`)
	add(14*time.Second, 1, `{peer_id:1, view_id: 5, leader: 1, message:"peer 5 unreachable"}`)
	for p := 1; p <= 4; p++ {
		add(14*time.Second+time.Duration(p)*100*time.Millisecond, p, "{peer_id:"+fmt.Sprint(p)+", view_id: 6, leader: 1, memb_list: [1,2,3,4]}")
	}
	return b.String()
}

func case2States() map[string]containerState {
	states := map[string]containerState{}
	for _, n := range names[1:] {
		states[n] = containerState{Service: n, Status: "Up 20 seconds"}
	}
	states["five"] = containerState{Service: "five", Status: "Exited (1) 8 seconds ago"}
	return states
}

func testHosts(t *testing.T) *hostsfile.File {
	hosts, err := hostsfile.Parse("hostsfile.txt", strings.NewReader("one\ntwo\nthree\nfour\nfive\n"))
	if err != nil {
		t.Fatal(err)
	}
	return hosts
}

func TestJudgeGoodRun(t *testing.T) {
	hosts := testHosts(t)
	crun, lines, err := readRun("good", goodCase2Log(), hosts)
	if err != nil {
		t.Fatal(err)
	}
	if problems := judgeViews(case2, hosts, lines, case2States()); len(problems) > 0 {
		t.Errorf("a good run has problems: %q", problems)
	}
	// The checker agrees, and measures the crash as the test logs it.
	report := checker.Check(crun, checker.Options{Hostsfile: hostsMap(hosts)})
	if report.Status() != 0 {
		t.Errorf("checker: %s, violated %v", report.Verdict, report.Violated())
	}
	lat := report.Figures.CrashRemoval.Latencies
	if len(lat) != 1 || lat[0].Peer != 5 || lat[0].D != 2400*time.Millisecond {
		t.Errorf("crash to removal = %+v, want peer 5 removed at every survivor after 2.4s", lat)
	}
}

func TestJudgeBadRuns(t *testing.T) {
	good := goodCase2Log()
	tests := []struct {
		name   string
		edit   func(logs string) string
		states func(map[string]containerState)
		want   string
	}{
		{"no view lines", func(string) string { return "one | hello\n" }, nil, "no view lines"},
		{"members differ", func(s string) string {
			return strings.Replace(s, "{peer_id:2, view_id: 6, leader: 1, memb_list: [1,2,3,4]}", "{peer_id:2, view_id: 6, leader: 1, memb_list: [1,2,4]}", 1)
		}, nil, "view 6 differs"},
		{"leaders differ", func(s string) string {
			return strings.Replace(s, "{peer_id:3, view_id: 6, leader: 1,", "{peer_id:3, view_id: 6, leader: 2,", 1)
		}, nil, "view 6 differs"},
		{"crashed peer never removed", func(s string) string {
			return strings.ReplaceAll(s, "view_id: 6, leader: 1, memb_list: [1,2,3,4]}", "view_id: 6, leader: 1, memb_list: [1,2,3,4,5]}")
		}, nil, "view 6 is [1,2,3,4,5], want [1,2,3,4]"},
		{"survivor missed the last view", func(s string) string {
			return strings.Replace(s, "{peer_id:4, view_id: 6, leader: 1, memb_list: [1,2,3,4]}", "", 1)
		}, nil, "peer 4 ends on view 5"},
		{"survivor skipped a view", func(s string) string {
			return strings.Replace(s, "{peer_id:2, view_id: 4, leader: 1, memb_list: [1,2,3,4]}", "", 1)
		}, nil, "peer 2 printed views [2 3 5 6], want [2 3 4 5 6]"},
		{"view id goes backwards", func(s string) string {
			return s + "two | 2026-11-21T20:00:30Z {peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}\n"
		}, nil, "peer 2 printed view 3 after view 6"},
		{"view without itself", func(s string) string {
			return strings.Replace(s, "{peer_id:3, view_id: 6, leader: 1, memb_list: [1,2,3,4]}", "{peer_id:3, view_id: 6, leader: 1, memb_list: [1,2,4]}", 1)
		}, nil, "peer 3 printed view 6 [1,2,4] without itself"},
		{"wrong container", func(s string) string {
			return strings.Replace(s, "one   | ", "two   | ", 1)
		}, nil, "container two printed peer_id 1"},
		{"no crash line", func(s string) string {
			return strings.Replace(s, `message:"crashing"`, `message:"peer 4 unreachable"`, 1)
		}, nil, `peer 5 was scripted to crash but printed no "crashing" line`},
		{"crashed peer still running", nil, func(st map[string]containerState) {
			st["five"] = containerState{Service: "five", Status: "Up 20 seconds"}
		}, "crashed peer five"},
		{"survivor exited", nil, func(st map[string]containerState) {
			st["three"] = containerState{Service: "three", Status: "Exited (2) 1 second ago"}
		}, "survivor three is not running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs, states := good, case2States()
			if tc.edit != nil {
				logs = tc.edit(good)
			}
			if tc.states != nil {
				tc.states(states)
			}
			_, lines, err := readRun("bad", logs, testHosts(t))
			if err != nil {
				t.Fatal(err)
			}
			problems := judgeViews(case2, testHosts(t), lines, states)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tc.want)
			}
			if !found {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
}
