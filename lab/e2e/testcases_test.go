package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
	"roster/lab/runner"
	"roster/peer/api"
	"roster/peer/hostsfile"
)

// view is an expected view: its id and members.
type view struct {
	id      int
	members []int
}

// expectation is what README.md (test cases) says a test case ends with.
type expectation struct {
	n         int
	crash     []int  // peers scripted to crash: they print "crashing" and exit 1
	views     []view // views that must be committed with these members
	survivors []int  // peers still running at the end
	final     view   // every survivor's last view; id 0 means any id
	// optional names a scenario flag a peer may not support yet: if a peer
	// exits at once saying "not yet supported", the test skips.
	optional string
	// groups, for the client groups cases, is the group outcome.
	groups *groupExpect
}

// joinViews are test case 1's views: [1], [1,2], ... [1,2,3,4,5].
func joinViews() []view {
	var vs []view
	for i := 1; i <= 5; i++ {
		vs = append(vs, view{i, seq(1, i)})
	}
	return vs
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

var (
	case1 = expectation{n: 1, views: joinViews(), survivors: seq(1, 5), final: view{5, seq(1, 5)}}
	case2 = expectation{n: 2, crash: []int{5},
		views:     append(joinViews(), view{6, seq(1, 4)}),
		survivors: seq(1, 4), final: view{6, seq(1, 4)}}
	case3 = expectation{n: 3, crash: []int{5, 4, 3, 2},
		views:     append(joinViews(), view{6, seq(1, 4)}, view{7, seq(1, 3)}, view{8, seq(1, 2)}, view{9, seq(1, 1)}),
		survivors: []int{1}, final: view{9, []int{1}}}
	// Test case 4: the new leader is Raft's choice, so the views after 6 are
	// only fixed in their end: [2,3,4] at 2, 3 and 4.
	case4 = expectation{n: 4, crash: []int{5, 1},
		views:     append(joinViews(), view{6, seq(1, 4)}),
		survivors: []int{2, 3, 4}, final: view{0, []int{2, 3, 4}}, optional: "-t"}
)

// The fault scenarios. Views in between depend on timing; their ends do not.
var (
	// 5: {1,2} cut from {3,4,5}, then healed: all five end in one view.
	case5 = expectation{n: 5, views: joinViews(), survivors: seq(1, 5), final: view{0, seq(1, 5)}}
	// 6: 10 % loss everywhere, five crashes: no live peer removed.
	case6 = expectation{n: 6, crash: []int{5}, views: joinViews(), survivors: seq(1, 4), final: view{0, seq(1, 4)}}
	// 7: five crashes and compose restarts it: removed (view 6), re-added (view 7).
	case7 = expectation{n: 7, views: append(joinViews(), view{6, seq(1, 4)}, view{7, seq(1, 5)}),
		survivors: seq(1, 5), final: view{7, seq(1, 5)}}
	// 8: the leader pauses for 10 s: removed by a new leader, then re-added.
	case8 = expectation{n: 8, views: joinViews(), survivors: seq(1, 5), final: view{0, seq(1, 5)}}
)

func TestCase1Joins(t *testing.T)       { testCase(t, case1) }
func TestCase2OneCrash(t *testing.T)    { testCase(t, case2) }
func TestCase3ManyCrashes(t *testing.T) { testCase(t, case3) }
func TestCase4LeaderCrash(t *testing.T) { testCase(t, case4) }
func TestCase5Partition(t *testing.T)   { testCase(t, case5) }
func TestCase6Loss(t *testing.T)        { testCase(t, case6) }
func TestCase7Restart(t *testing.T)     { testCase(t, case7) }
func TestCase8LeaderPause(t *testing.T) { testCase(t, case8) }

func testCase(t *testing.T, exp expectation) {
	requireDocker(t)
	t.Parallel() // each run is a compose project of its own (make e2e: E2E_PARALLEL at once)
	hosts, err := hostsfile.Load(filepath.Join(repoRoot, "hostsfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var served map[string]api.GroupResponse
	var atEnd func(c *composeRun) error
	if exp.groups != nil {
		atEnd = func(c *composeRun) (err error) {
			served, err = servedGroups(baseCtx, c, hosts, exp.groups.group, exp.crash)
			return err
		}
	}
	run, err := runCase(t, exp.n, atEnd)
	var unsupported errUnsupported
	if errors.As(err, &unsupported) && exp.optional != "" {
		t.Skipf("test case %d needs %s, which this peer does not support yet (%v)", exp.n, exp.optional, unsupported)
	}
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(run.LogPath)
	crun, lines, err := readRun(name, run.Logs, hosts)
	if err != nil {
		t.Fatal(err)
	}
	problems := judgeViews(exp, hosts, lines, run.States)
	for _, p := range problems {
		t.Error(p)
	}

	// The checker's verdict on the same logs, and its figures.
	sc, err := runner.Load(context.Background(), filepath.Join(repoRoot, fmt.Sprintf("docker-compose-testcase-%d.yml", exp.n)))
	if err != nil {
		t.Fatal(err)
	}
	report := checker.Check(crun, checker.Options{Hostsfile: hostsMap(hosts), ExpectRemovals: expectedRemovals(t, exp.n, hosts), Clients: sc.ClientOptions()})
	if exp.groups != nil {
		for _, p := range judgeGroups(exp.groups, served, report) {
			t.Error(p)
			problems = append(problems, p)
		}
	}
	var text strings.Builder
	report.WriteText(&text)
	htmlPath := strings.TrimSuffix(run.LogPath, ".log") + ".html"
	if f, err := os.Create(htmlPath); err == nil {
		if err := checker.WriteHTML(f, crun, report); err != nil {
			t.Errorf("writing %s: %v", htmlPath, err)
		}
		f.Close()
	} else {
		t.Error(err)
	}
	if report.Status() != 0 {
		t.Errorf("roster check: %s (status %d), violated: %v", report.Verdict, report.Status(), report.Violated())
		problems = append(problems, "checker")
	}
	t.Logf("roster check (%s, picture in %s):\n%s", run.LogPath, htmlPath, text.String())
	for _, l := range report.Figures.CrashRemoval.Latencies {
		t.Logf("crash of peer %d -> view %d without it at every survivor: %s", l.Peer, l.ViewID, l.D.Round(time.Millisecond))
	}
	if len(problems) > 0 {
		t.Logf("logs of the run:\n%s", run.Logs)
	}
}

// judgeViews checks a run's view records (read by the checker) and its
// containers' states at the end against the expected views README.md gives, and
// returns the problems found, one sentence each. The checker judges the
// general properties; this pins the scenario's exact outcome.
func judgeViews(exp expectation, hosts *hostsfile.File, lines []viewLine, states map[string]containerState) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if len(lines) == 0 {
		return []string{"no view lines in the logs"}
	}

	// Each container prints as the peer its hostname names.
	for _, l := range lines {
		if id, known := hosts.ID(l.Service); !known || id != l.Peer {
			fail("container %s printed peer_id %d (hostsfile id %d)", l.Service, l.Peer, id)
			break
		}
	}

	// Agreement: one member list and one leader per view id.
	agreed := map[int]viewLine{}
	for _, l := range lines {
		if !l.isView() {
			continue
		}
		if a, seen := agreed[l.View]; !seen {
			agreed[l.View] = l
		} else if !slices.Equal(a.Members, l.Members) || a.Leader != l.Leader {
			fail("view %d differs: peer %d has leader %d %v, peer %d has leader %d %v",
				l.View, a.Peer, a.Leader, a.Members, l.Peer, l.Leader, l.Members)
		}
	}

	// The committed views of the scenario.
	for _, v := range exp.views {
		if a, seen := agreed[v.id]; !seen {
			fail("view %d %v was printed by no peer", v.id, fmtMembers(v.members))
		} else if !slices.Equal(a.Members, v.members) {
			fail("view %d is %v, want %v", v.id, fmtMembers(a.Members), fmtMembers(v.members))
		}
	}

	for _, p := range hosts.Peers {
		views := viewsOf(lines, p.ID)
		var ids []int
		for i, v := range views {
			ids = append(ids, v.View)
			if i > 0 && v.View <= views[i-1].View {
				fail("peer %d printed view %d after view %d", p.ID, v.View, views[i-1].View)
			}
			if !slices.Contains(v.Members, p.ID) {
				fail("peer %d printed view %d %v without itself", p.ID, v.View, fmtMembers(v.Members))
			}
		}
		switch {
		case slices.Contains(exp.survivors, p.ID):
			if len(views) == 0 {
				fail("survivor %d printed no view", p.ID)
				continue
			}
			last := views[len(views)-1]
			if (exp.final.id != 0 && last.View != exp.final.id) || !slices.Equal(last.Members, exp.final.members) {
				fail("peer %d ends on view %d %v, want view %s %v", p.ID, last.View, fmtMembers(last.Members), fmtID(exp.final.id), fmtMembers(exp.final.members))
			}
			// A peer prints every view that contains it, from the one that adds it.
			var want []int
			for id := 1; id <= last.View; id++ {
				if a, seen := agreed[id]; seen && slices.Contains(a.Members, p.ID) {
					want = append(want, id)
				}
			}
			if !slices.Equal(ids, want) {
				fail("peer %d printed views %v, want %v (every view that contains it)", p.ID, ids, want)
			}
			if s := states[p.Name]; s.exitCode() != -1 {
				fail("survivor %s is not running at the end: %s", p.Name, s.Status)
			}
		case slices.Contains(exp.crash, p.ID):
			crashed := false
			for _, l := range lines {
				crashed = crashed || (l.Peer == p.ID && l.Message == "crashing")
			}
			if !crashed {
				fail("peer %d was scripted to crash but printed no \"crashing\" line", p.ID)
			}
			if s := states[p.Name]; s.exitCode() != 1 {
				fail("crashed peer %s: container %q, want exited with status 1", p.Name, s.Status)
			}
		}
	}

	return problems
}

func fmtMembers(m []int) string {
	s := make([]string, len(m))
	for i, id := range m {
		s[i] = fmt.Sprint(id)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func fmtID(id int) string {
	if id == 0 {
		return "(any)"
	}
	return fmt.Sprint(id)
}

// expectedRemovals returns the peers the compose file's x-roster says may
// rightly be removed while alive (the minority of a partition, a paused peer).
func expectedRemovals(t *testing.T, n int, hosts *hostsfile.File) []int {
	t.Helper()
	sc, err := runner.Load(context.Background(), filepath.Join(repoRoot, fmt.Sprintf("docker-compose-testcase-%d.yml", n)))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, ref := range sc.ExpectRemovals {
		if id, ok := hosts.ID(ref); ok {
			ids = append(ids, id)
		} else if id, err := strconv.Atoi(ref); err == nil {
			ids = append(ids, id)
		} else {
			t.Fatalf("x-roster expect_removals: %q is neither a hostsfile name nor an id", ref)
		}
	}
	return ids
}
