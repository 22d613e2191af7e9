package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
	"roster/peer/api"
	"roster/peer/hostsfile"
)

// groupExpect is what README.md (test cases) says a client groups test case
// ends with, beyond the checker's group properties.
type groupExpect struct {
	group string
	// members is the group at the end: served by every running peer (the
	// same index and members at each) and every live client's final view.
	members []string
	// crashed are the clients scripted to crash for good.
	crashed []string
	// maxAbsence bounds how long a restarted client may be out of the group.
	maxAbsence map[string]time.Duration
	// notOwner is a peer that owns no client at the end (it crashed); 0: none.
	notOwner int
}

// The client groups test cases: five peers start at once (no view ids are
// fixed but the last one's members).
var (
	// 9: c2 crashes for good and is removed; c3 crashes and restarts at once.
	case9 = expectation{n: 9, survivors: seq(1, 5), final: view{0, seq(1, 5)},
		groups: &groupExpect{group: "jobs", members: []string{"c1", "c3", "c4", "c5"}, crashed: []string{"c2"},
			maxAbsence: map[string]time.Duration{"c3": 0}}}
	// 10: four, the owner of c1 and c2, crashes: nobody is removed.
	case10 = expectation{n: 10, crash: []int{4}, survivors: []int{1, 2, 3, 5}, final: view{0, []int{1, 2, 3, 5}},
		groups: &groupExpect{group: "jobs", members: []string{"c1", "c2", "c3", "c4", "c5", "c6"}, notOwner: 4}}
	// 11: c4 is cut off from its owner only: it stays.
	case11 = expectation{n: 11, survivors: seq(1, 5), final: view{0, seq(1, 5)},
		groups: &groupExpect{group: "jobs", members: []string{"c1", "c2", "c3", "c4"}}}
)

func TestCase9ClientCrashAndRestart(t *testing.T) { testCase(t, case9) }
func TestCase10OwnerCrash(t *testing.T)           { testCase(t, case10) }
func TestCase11ClientCutFromOwner(t *testing.T)   { testCase(t, case11) }

// servedGroups asks every running peer of the run for the group, from
// inside its container (roster group G --json), until they all serve the
// same index (a peer behind is behind for a moment) or 10 s pass.
func servedGroups(ctx context.Context, c *composeRun, hosts *hostsfile.File, group string, down []int) (map[string]api.GroupResponse, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := map[string]api.GroupResponse{}
		var errs []string
		for _, p := range hosts.Peers {
			if slices.Contains(down, p.ID) {
				continue
			}
			raw, err := docker(ctx, "exec", c.prefix()+p.Name, "/roster", "group", "--json", "--addr", "127.0.0.1:8082", group)
			var g api.GroupResponse
			if err == nil {
				err = json.Unmarshal([]byte(raw), &g)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", p.Name, err))
				continue
			}
			out[p.Name] = g
		}
		same := len(errs) == 0
		var first *api.GroupResponse
		for _, g := range out {
			if first == nil {
				first = &g
			} else if g.Index != first.Index {
				same = false
			}
		}
		if same || time.Now().After(deadline) {
			if len(errs) > 0 {
				return out, fmt.Errorf("%s", strings.Join(errs, "; "))
			}
			return out, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// judgeGroups checks the group outcome of a run: what every peer served at
// the end, the clients' final views, crashes and absences.
func judgeGroups(exp *groupExpect, served map[string]api.GroupResponse, report *checker.Report) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var ref *api.GroupResponse
	for name, g := range served {
		if !slices.Equal(g.Clients(), exp.members) {
			fail("peer %s serves %s at index %d with %v, want %v", name, exp.group, g.Index, g.Clients(), exp.members)
		}
		if ref != nil && (g.Index != ref.Index || !slices.Equal(g.Clients(), ref.Clients())) {
			fail("peers serve different groups: index %d %v and index %d %v", g.Index, g.Clients(), ref.Index, ref.Clients())
		}
		for _, m := range g.Members {
			if exp.notOwner != 0 && m.Owner == exp.notOwner {
				fail("peer %s says client %s is owned by the crashed peer %d", name, m.Client, exp.notOwner)
			}
		}
		g := g
		ref = &g
	}
	gr := report.Groups
	if gr == nil {
		return append(problems, "no group lines in the logs")
	}
	for _, f := range gr.Final {
		if f.Group != exp.group {
			continue
		}
		switch {
		case slices.Contains(exp.crashed, f.Client):
			if f.State != "crashed" {
				fail("client %s was scripted to crash but ends %s", f.Client, f.State)
			}
		case f.State != "alive":
			fail("client %s ends %s, want alive", f.Client, f.State)
		case !slices.Equal(f.Members, exp.members):
			fail("client %s ends on index %d %v, want %v", f.Client, f.Index, f.Members, exp.members)
		}
	}
	for _, ab := range gr.Absences {
		bound, ok := exp.maxAbsence[ab.Client]
		if !ok {
			fail("client %s was out of the group from index %d to %d", ab.Client, ab.From, ab.To)
		} else if time.Duration(ab.Ms*float64(time.Millisecond)) > bound {
			fail("client %s was out of the group %.0f ms (from index %d to %d), want at most %v", ab.Client, ab.Ms, ab.From, ab.To, bound)
		}
	}
	for _, c := range exp.crashed {
		if !slices.ContainsFunc(gr.CrashRemoval, func(l checker.ClientLatency) bool { return l.Client == c }) {
			fail("the crash of client %s was not seen removed at every live watcher", c)
		}
	}
	return problems
}

// judgeGroups finds each way a group case can end wrong.
func TestJudgeGroups(t *testing.T) {
	exp := &groupExpect{group: "jobs", members: []string{"c1", "c3"}, crashed: []string{"c2"},
		maxAbsence: map[string]time.Duration{"c3": time.Second}, notOwner: 4}
	grp := func(index uint64, owner int, clients ...string) api.GroupResponse {
		g := api.GroupResponse{Group: "jobs", Index: index}
		for _, c := range clients {
			g.Members = append(g.Members, api.Member{Client: c, Owner: owner})
		}
		return g
	}
	good := func() (map[string]api.GroupResponse, *checker.Report) {
		served := map[string]api.GroupResponse{"one": grp(9, 1, "c1", "c3"), "two": grp(9, 1, "c1", "c3")}
		rep := &checker.Report{Groups: &checker.GroupReport{
			Final: []checker.GroupFinal{
				{Group: "jobs", Client: "c1", Index: 9, Members: []string{"c1", "c3"}, State: "alive"},
				{Group: "jobs", Client: "c2", Index: 7, Members: []string{"c1", "c2", "c3"}, State: "crashed"},
				{Group: "jobs", Client: "c3", Index: 9, Members: []string{"c1", "c3"}, State: "alive"},
			},
			CrashRemoval: []checker.ClientLatency{{Group: "jobs", Client: "c2"}},
			Absences:     []checker.ClientAbsence{{Group: "jobs", Client: "c3", From: 5, To: 6, Ms: 800}},
		}}
		return served, rep
	}
	if served, rep := good(); len(judgeGroups(exp, served, rep)) != 0 {
		p := judgeGroups(exp, served, rep)
		t.Fatalf("a good end judged bad: %q", p)
	}
	cases := map[string]func(map[string]api.GroupResponse, *checker.Report){
		"a peer behind":             func(s map[string]api.GroupResponse, _ *checker.Report) { s["two"] = grp(8, 1, "c1", "c3") },
		"a peer with other members": func(s map[string]api.GroupResponse, _ *checker.Report) { s["two"] = grp(9, 1, "c1") },
		"the dead owner":            func(s map[string]api.GroupResponse, _ *checker.Report) { s["two"] = grp(9, 4, "c1", "c3") },
		"a long absence":            func(_ map[string]api.GroupResponse, r *checker.Report) { r.Groups.Absences[0].Ms = 1500 },
		"an unexpected absence":     func(_ map[string]api.GroupResponse, r *checker.Report) { r.Groups.Absences[0].Client = "c1" },
		"a crash never removed":     func(_ map[string]api.GroupResponse, r *checker.Report) { r.Groups.CrashRemoval = nil },
		"a crashed client alive":    func(_ map[string]api.GroupResponse, r *checker.Report) { r.Groups.Final[1].State = "alive" },
		"a live client's view":      func(_ map[string]api.GroupResponse, r *checker.Report) { r.Groups.Final[0].Members = []string{"c1"} },
		"no group lines":            func(_ map[string]api.GroupResponse, r *checker.Report) { r.Groups = nil },
	}
	for name, spoil := range cases {
		served, rep := good()
		spoil(served, rep)
		if p := judgeGroups(exp, served, rep); len(p) == 0 {
			t.Errorf("%s: judged good", name)
		}
	}
}
