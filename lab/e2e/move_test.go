package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
	"roster/peer/hostsfile"
)

// moveWait bounds each phase of the move scenario.
const moveWait = 45 * time.Second

// TestDockerMoveSwapIPs is the scenario of docker-compose-move.yml: five
// peers in one view; one and two are cut off their network until the others
// removed them, then connected back each at the other's old address (the
// stuck-minority case of issue 12: before peers followed their address,
// both stayed Candidates forever). Each must be re-added under its id at its
// new address, with one view change each way, and the checker (as `roster
// check --compose` reads the project) must pass the run.
func TestDockerMoveSwapIPs(t *testing.T) {
	requireDocker(t)
	t.Parallel() // a compose project and a subnet of its own
	lockEngine(t, false)
	hosts, err := hostsfile.Load(filepath.Join(repoRoot, "hostsfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(repoRoot, "docker-compose-move.yml")
	c := &composeRun{cmd: composeCmd, dir: repoRoot, file: file, project: newProjectName()}
	active.add(c)
	t.Cleanup(func() {
		if err := c.down(); err != nil {
			t.Errorf("tear down: %v", err)
		}
		active.remove(c)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if left, err := c.leftovers(ctx); err != nil {
			t.Errorf("listing leftovers: %v", err)
		} else if len(left) > 0 {
			t.Errorf("left behind after down: %s", strings.Join(left, ", "))
		}
	})
	// A subnet of its own: another run (or another project) may hold one.
	// From 198.18.0.0/15 (RFC 2544, for benchmarks: never routed), which is
	// outside Docker's default address pools: a project's network takes a
	// whole /16 of 172.17-31 from them, and with several projects up at
	// once 172.30.0.0/16 was taken, so that every 172.30.X.0/24 overlapped.
	var subnet string
	for try := 0; ; try++ {
		subnet = fmt.Sprintf("198.18.%d", rand.IntN(256))
		c.env = []string{"ROSTER_MOVE_NET=" + subnet}
		err := c.up(baseCtx)
		if err == nil {
			break
		}
		if try == 4 || !strings.Contains(err.Error(), "overlap") {
			t.Fatal(err)
		}
		c.down()
	}
	t.Logf("compose project %s on %s.0/24", c.project, subnet)
	net := c.project + "_roster"
	all := []int{1, 2, 3, 4, 5}

	// All five in one view.
	if _, err := waitViews(c, hosts, all, all, 0); err != nil {
		t.Fatal(err)
	}
	ip := map[string]string{"one": subnet + ".11", "two": subnet + ".12"}
	for _, s := range []string{"one", "two"} {
		if _, err := docker(baseCtx, "network", "disconnect", net, c.prefix()+s); err != nil {
			t.Fatal(err)
		}
	}
	cut, err := waitViews(c, hosts, []int{3, 4, 5}, []int{3, 4, 5}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Each back at the other's old address at once: the direct checks
	// removed them from the view, and memberlist's own verdict on their
	// old addresses (which lets a name come back at another address) is
	// seconds away. The others follow each to its new address as soon as
	// it answers there and not at the old one (peer/detector/conflict.go);
	// before that, coming back this early waited for the verdict.
	moved := time.Now()
	for s, at := range map[string]string{"one": ip["two"], "two": ip["one"]} {
		if _, err := docker(baseCtx, "network", "connect", "--ip", at, "--alias", s, net, c.prefix()+s); err != nil {
			t.Fatal(err)
		}
	}
	back, err := waitViews(c, hosts, all, all, cut)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := c.logs(baseCtx)
	if err != nil {
		t.Fatal(err)
	}
	_, lines, err := readRun("move.log", logs, hosts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range moveProblems(lines, cut, back, []int{1, 2}) {
		t.Error(p)
	}
	for _, l := range lines {
		if l.isView() && l.View == back && slices.Equal(l.Members, all) {
			t.Logf("peers connected at their new addresses -> view %d %v, first printed %s later", back, all, l.Time.Sub(moved).Round(time.Millisecond))
			break
		}
	}

	// The checker's verdict, read as `roster check --compose FILE -p
	// PROJECT --expect-removals 1,2` reads it.
	ctx, cancel := context.WithTimeout(baseCtx, time.Minute)
	defer cancel()
	raw, cs, err := checker.Compose{File: file, Project: c.project}.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := checker.Options{Hostsfile: hostsMap(hosts), ExpectRemovals: []int{1, 2}}
	crun, err := checker.Read([]checker.Source{{Name: "compose logs", R: strings.NewReader(string(raw))}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Engine = checker.ApplyContainers(&opts, crun, cs)
	report := checker.Check(crun, opts)
	var text strings.Builder
	report.WriteText(&text)
	if report.Status() != 0 {
		t.Errorf("roster check: %s (status %d), violated: %v", report.Verdict, report.Status(), report.Violated())
	}
	t.Logf("roster check:\n%s", text.String())
	if t.Failed() {
		t.Logf("logs of the run:\n%s", logs)
	}
}

// waitViews waits until every peer of who printed a view after view after
// whose members are want, and returns the highest such view id.
func waitViews(c *composeRun, hosts *hostsfile.File, who, want []int, after int) (int, error) {
	deadline := time.Now().Add(moveWait)
	for {
		logs, err := c.logs(baseCtx)
		if err != nil {
			return 0, err
		}
		_, lines, err := readRun("move.log", logs, hosts)
		if err != nil {
			return 0, err
		}
		seen := map[int]int{} // peer -> view id
		for _, l := range lines {
			if l.isView() && l.View > after && slices.Equal(l.Members, want) {
				seen[l.Peer] = max(seen[l.Peer], l.View)
			}
		}
		top, ok := 0, true
		for _, p := range who {
			ok = ok && seen[p] > 0
			top = max(top, seen[p])
		}
		if ok {
			return top, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no view %v after view %d at every peer of %v within %s (seen at %v); logs:\n%s", want, after, who, moveWait, seen, logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// moveProblems checks the views committed around a move: from view cut
// (the moved peers removed) to view back (all re-added), each moved peer
// enters the view once, and no view in between removes anyone else.
func moveProblems(lines []viewLine, cut, back int, movers []int) []string {
	views := map[int][]int{}
	for _, l := range lines {
		if l.isView() {
			views[l.View] = l.Members
		}
	}
	var problems []string
	for _, id := range movers {
		changes, in := 0, false
		for v := cut; v <= back; v++ {
			m, ok := views[v]
			if !ok {
				continue
			}
			if now := slices.Contains(m, id); now != in {
				changes++
				in = now
			}
		}
		if changes != 1 {
			problems = append(problems, fmt.Sprintf("peer %d changed membership %d times between views %d and %d, want 1 (re-added once)", id, changes, cut, back))
		}
	}
	for v := cut + 1; v <= back; v++ {
		prev, ok1 := views[v-1]
		m, ok2 := views[v]
		if !ok1 || !ok2 {
			continue
		}
		for _, id := range prev {
			if !slices.Contains(m, id) {
				problems = append(problems, fmt.Sprintf("view %d removed peer %d while the moved peers came back", v, id))
			}
		}
	}
	return problems
}

func TestMoveProblems(t *testing.T) {
	v := func(id int, members ...int) viewLine {
		return viewLine{Peer: 3, View: id, Members: members, view: true}
	}
	good := []viewLine{v(4, 3, 4, 5), v(5, 1, 2, 3, 4, 5)}
	if p := moveProblems(good, 4, 5, []int{1, 2}); len(p) != 0 {
		t.Fatalf("good: %v", p)
	}
	oneByOne := []viewLine{v(4, 3, 4, 5), v(5, 1, 3, 4, 5), v(6, 1, 2, 3, 4, 5)}
	if p := moveProblems(oneByOne, 4, 6, []int{1, 2}); len(p) != 0 {
		t.Fatalf("one by one: %v", p)
	}
	flap := []viewLine{v(4, 3, 4, 5), v(5, 1, 3, 4, 5), v(6, 3, 4, 5), v(7, 1, 2, 3, 4, 5)}
	if p := moveProblems(flap, 4, 7, []int{1, 2}); len(p) != 2 {
		t.Fatalf("flapping: %v, want 2 problems (1 re-added twice, view 6 removed 1)", p)
	}
}
