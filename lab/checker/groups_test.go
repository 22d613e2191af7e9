package checker

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/peer/viewlog"
)

// groupLog builds a docker-compose-logs-like run: peers' view lines and
// clients' group lines, each stamped at a second offset.
type groupLog struct {
	b  strings.Builder
	t0 time.Time
}

func newGroupLog() *groupLog {
	g := &groupLog{t0: time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)}
	// The peers agree on one view throughout.
	for p, name := range []string{"one", "two", "three"} {
		g.line(0, name, viewlog.FormatView(p+1, 3, 1, []int{1, 2, 3}))
	}
	return g
}

func (g *groupLog) line(at float64, name, text string) {
	ts := g.t0.Add(time.Duration(at * float64(time.Second))).Format(time.RFC3339Nano)
	fmt.Fprintf(&g.b, "%-6s| %s %s\n", name, ts, text)
}

func (g *groupLog) view(at float64, client string, index uint64, members ...string) {
	g.line(at, client, viewlog.FormatGroupView(client, "jobs", index, members))
}

func (g *groupLog) msg(at float64, client string, index uint64, msg string) {
	g.line(at, client, viewlog.FormatGroupMessage(client, "jobs", index, msg))
}

// joinAll: c1, c2, c3 join and every one sees every state.
func (g *groupLog) joinAll() {
	g.msg(1, "c1", 0, viewlog.Joining)
	g.msg(1, "c2", 0, viewlog.Joining)
	g.msg(1, "c3", 0, viewlog.Joining)
	g.view(1.1, "c1", 5, "c1")
	g.view(1.2, "c1", 6, "c1", "c2")
	g.view(1.2, "c2", 6, "c1", "c2")
	for _, c := range []string{"c1", "c2", "c3"} {
		g.view(1.3, c, 7, "c1", "c2", "c3")
	}
}

func checkGroupLog(t *testing.T, g *groupLog, opts Options) *Report {
	t.Helper()
	run, err := Read([]Source{{Name: "run.log", R: strings.NewReader(g.b.String())}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(run, opts)
	if rep.Groups == nil {
		t.Fatalf("no group report for a log with %d group lines", len(run.GroupEvents))
	}
	return rep
}

func groupVerdicts(rep *Report) map[string]Verdict {
	out := map[string]Verdict{}
	for _, p := range rep.Groups.Properties {
		out[p.Name] = p.Verdict
	}
	return out
}

func TestGroupsGoodRun(t *testing.T) {
	g := newGroupLog()
	g.joinAll()
	// c3 crashes; 15 s later both watchers see it removed.
	g.msg(10, "c3", 7, viewlog.Crashing)
	g.view(25, "c1", 9, "c1", "c2")
	g.view(25.1, "c2", 9, "c1", "c2")
	// c2 crashes and restarts at once: its new incarnation replaces the old
	// one (index 11), it is never removed.
	g.msg(30, "c2", 9, viewlog.Crashing)
	g.msg(31, "c2", 0, viewlog.Joining)
	g.view(31.2, "c1", 11, "c1", "c2")
	g.view(31.2, "c2", 11, "c1", "c2")
	opts := Options{Clients: GroupOptions{Deadline: 16 * time.Second}}
	rep := checkGroupLog(t, g, opts)
	var text bytes.Buffer
	rep.WriteText(&text)
	if rep.Status() != 0 {
		t.Fatalf("status %d, want 0:\n%s", rep.Status(), text.String())
	}
	for _, name := range []string{GroupAgreement, GroupValidity, GroupAccuracy, GroupCompleteness} {
		if p, ok := rep.Property(name); !ok || p.Verdict != Held {
			t.Errorf("%s: %+v, want held", name, p)
		}
	}
	if len(rep.Groups.Removals) != 1 || rep.Groups.Removals[0].Client != "c3" || rep.Groups.Removals[0].Reason != "crashed" {
		t.Errorf("removals %+v, want c3 crashed", rep.Groups.Removals)
	}
	// The crash of c2 came back within the deadline: only c3's is measured.
	if l := rep.Groups.CrashRemoval; len(l) != 1 || l[0].Client != "c3" || l[0].Watcher != "c2" || l[0].Ms != 15100 {
		t.Errorf("crash to removal %+v, want c3 seen by c2 after 15.1 s", l)
	}
	if len(rep.Groups.Absences) != 0 {
		t.Errorf("absences %+v, want none", rep.Groups.Absences)
	}
	for _, want := range []string{"GROUP PROPERTY", "group completeness", `client crash to removal: "c3" in "jobs": 15.100s`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	run, _ := Read([]Source{{Name: "run.log", R: strings.NewReader(g.b.String())}}, opts)
	var html bytes.Buffer
	if err := WriteHTML(&html, run, rep); err != nil || !strings.Contains(html.String(), "group agreement") {
		t.Errorf("HTML report (error %v) lacks the group properties", err)
	}
}

func TestGroupsViolations(t *testing.T) {
	cases := []struct {
		name     string
		build    func(g *groupLog)
		opts     GroupOptions
		violated []string
		quote    string // a quoted line must contain this
	}{
		{name: "two member sets for one index", build: func(g *groupLog) {
			g.view(2, "c3", 6, "c1", "c3")
		}, violated: []string{GroupAgreement, GroupCompleteness}, quote: `group_view: 6, members: ["c1","c3"]`},
		{name: "a member that never joined", build: func(g *groupLog) {
			g.view(2, "c1", 8, "c1", "c2", "c3", "c9")
			g.view(2, "c2", 8, "c1", "c2", "c3", "c9")
			g.view(2, "c3", 8, "c1", "c2", "c3", "c9")
		}, violated: []string{GroupValidity}, quote: `"c9"`},
		{name: "a member joined only after it was listed", build: func(g *groupLog) {
			g.view(2, "c1", 8, "c1", "c2", "c3", "c4")
			g.msg(5, "c4", 0, viewlog.Joining)
			g.view(5.5, "c4", 8, "c1", "c2", "c3", "c4")
		}, violated: []string{GroupValidity, GroupCompleteness}},
		{name: "a live client removed", build: func(g *groupLog) {
			g.view(20, "c1", 9, "c1", "c3")
			g.view(20, "c3", 9, "c1", "c3")
		}, violated: []string{GroupAccuracy, GroupCompleteness}, quote: `group_view: 9, members: ["c1","c3"]`},
		{name: "a removal before the crash", build: func(g *groupLog) {
			g.view(20, "c1", 9, "c1", "c2")
			g.view(20, "c2", 9, "c1", "c2")
			g.msg(21, "c3", 9, viewlog.Crashing)
		}, violated: []string{GroupAccuracy}},
		{name: "the new life of a quick restart removed", build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Crashing)
			g.msg(11, "c3", 0, viewlog.Joining)
			g.view(11.5, "c3", 8, "c1", "c2", "c3")
			g.view(25, "c1", 9, "c1", "c2")
			g.view(25, "c2", 9, "c1", "c2")
		}, violated: []string{GroupAccuracy, GroupCompleteness}},
		{name: "a crashed client never removed", build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Crashing)
		}, violated: []string{GroupCompleteness}, quote: `group_view: 7, members: ["c1","c2","c3"]`},
		{name: "a crashed client removed too late", opts: GroupOptions{Deadline: 16 * time.Second}, build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Crashing)
			g.view(25, "c1", 9, "c1", "c2")
			g.view(40, "c2", 9, "c1", "c2")
		}, violated: []string{GroupCompleteness}, quote: "crashing"},
		{name: "a crashed client removed at one watcher only", build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Crashing)
			g.view(25, "c1", 9, "c1", "c2")
		}, violated: []string{GroupCompleteness}},
		{name: "a restart that never came back within the deadline, never removed", opts: GroupOptions{Deadline: 16 * time.Second}, build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Crashing)
			g.msg(40, "c3", 0, viewlog.Joining)
			g.view(40.5, "c1", 9, "c1", "c2", "c3")
			g.view(40.5, "c2", 9, "c1", "c2", "c3")
			g.view(40.5, "c3", 9, "c1", "c2", "c3")
		}, violated: []string{GroupCompleteness}, quote: "crashing"},
		{name: "a watcher restarting while another crash is removed is not asked for the deadline", opts: GroupOptions{Deadline: 16 * time.Second}, build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Crashing)
			g.msg(20, "c2", 7, viewlog.Crashing) // c2 restarts: it misses the removal of c3
			g.view(25, "c1", 9, "c1", "c2")
			g.msg(26, "c2", 0, viewlog.Joining)
			g.view(30, "c1", 10, "c1", "c2")
			g.view(30, "c2", 10, "c1", "c2")
		}},
		// Removals that are right.
		{name: "a leave", build: func(g *groupLog) {
			g.msg(10, "c3", 7, viewlog.Leaving)
			g.view(10.1, "c1", 8, "c1", "c2")
			g.view(10.1, "c2", 8, "c1", "c2")
		}},
		{name: "a kill marked in the log", build: func(g *groupLog) {
			g.msg(10, "c3", 0, viewlog.Killed)
			g.view(25, "c1", 8, "c1", "c2")
			g.view(25, "c2", 8, "c1", "c2")
		}},
		{name: "a kill named in the options", opts: GroupOptions{Killed: []string{"c3"}}, build: func(g *groupLog) {
			g.view(25, "c1", 8, "c1", "c2")
			g.view(25, "c2", 8, "c1", "c2")
		}},
		{name: "an expected removal of a client that comes back", opts: GroupOptions{ExpectRemovals: []string{"c3"}}, build: func(g *groupLog) {
			g.view(25, "c1", 8, "c1", "c2")
			g.view(25, "c2", 8, "c1", "c2")
			g.msg(26, "c3", 7, viewlog.Joining)
			for _, c := range []string{"c1", "c2", "c3"} {
				g.view(27, c, 9, "c1", "c2", "c3")
			}
		}},
		{name: "a member joined through another tool", opts: GroupOptions{Joined: []string{"c9"}}, build: func(g *groupLog) {
			g.view(2, "c1", 8, "c1", "c2", "c3", "c9")
			g.view(2, "c2", 8, "c1", "c2", "c3", "c9")
			g.view(2, "c3", 8, "c1", "c2", "c3", "c9")
			g.view(3, "c1", 9, "c1", "c2", "c3")
			g.view(3, "c2", 9, "c1", "c2", "c3")
			g.view(3, "c3", 9, "c1", "c2", "c3")
		}, violated: []string{GroupAccuracy}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroupLog()
			g.joinAll()
			tc.build(g)
			rep := checkGroupLog(t, g, Options{Clients: tc.opts})
			var got []string
			for _, p := range rep.Groups.Properties {
				if p.Verdict == Violated {
					got = append(got, p.Name)
				}
			}
			var text bytes.Buffer
			rep.WriteText(&text)
			if !slices.Equal(got, tc.violated) {
				t.Fatalf("violated %v, want %v:\n%s", got, tc.violated, text.String())
			}
			wantStatus := 0
			if len(tc.violated) > 0 {
				wantStatus = 1
			}
			if rep.Status() != wantStatus {
				t.Errorf("status %d, want %d", rep.Status(), wantStatus)
			}
			if tc.quote != "" && !strings.Contains(text.String(), tc.quote) {
				t.Errorf("report quotes no line with %q:\n%s", tc.quote, text.String())
			}
		})
	}
}

func TestGroupsAbsence(t *testing.T) {
	g := newGroupLog()
	g.joinAll()
	g.msg(10, "c3", 7, viewlog.Crashing)
	g.view(25, "c1", 9, "c1", "c2")
	g.msg(27, "c3", 0, viewlog.Joining)
	g.view(27.5, "c1", 10, "c1", "c2", "c3")
	g.view(27.5, "c2", 10, "c1", "c2", "c3")
	g.view(27.5, "c3", 10, "c1", "c2", "c3")
	rep := checkGroupLog(t, g, Options{})
	if rep.Status() != 0 {
		var text bytes.Buffer
		rep.WriteText(&text)
		t.Fatalf("status %d:\n%s", rep.Status(), text.String())
	}
	want := []ClientAbsence{{Group: "jobs", Client: "c3", From: 9, To: 10, Ms: 2500}}
	if !slices.Equal(rep.Groups.Absences, want) {
		t.Errorf("absences %+v, want %+v", rep.Groups.Absences, want)
	}
}

// A log with group lines and no view lines is judged on its groups; one
// with neither cannot be judged.
func TestGroupsOnly(t *testing.T) {
	var b strings.Builder
	b.WriteString(viewlog.FormatGroupMessage("c1", "jobs", 0, viewlog.Joining) + "\n")
	b.WriteString(viewlog.FormatGroupView("c1", "jobs", 4, []string{"c1"}) + "\n")
	run, err := Read([]Source{{Name: "c1.log", R: strings.NewReader(b.String())}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep := Check(run, Options{}); rep.Status() != 0 || rep.Groups == nil || rep.Ignored != 0 {
		t.Errorf("groups-only log: status %d, groups %v, ignored %d; want 0, a report, 0", rep.Status(), rep.Groups, rep.Ignored)
	}
	run, _ = Read([]Source{{Name: "x", R: strings.NewReader("nothing\n")}}, Options{})
	if rep := Check(run, Options{}); rep.Status() != 2 || rep.Groups != nil {
		t.Errorf("empty log: status %d, groups %v; want 2, nil", rep.Status(), rep.Groups)
	}
}
