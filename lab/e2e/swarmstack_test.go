package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
)

// TestSwarmStack deploys deploy/swarm/docker-stack.yml on a Docker Swarm
// (a single-node swarm on loopback, made for the test unless the engine is
// in one already) with a cluster key of its own, and checks, from `docker
// service logs`:
//
//   - the three tasks of service peer, with no hostsfile, find each other
//     under tasks.peer and meet in one view with ids 1-3;
//   - `docker kill` of a follower's container: the others remove it, Swarm
//     restarts the task in its slot (a new container, a new address on the
//     overlay), and the group re-adds it under its old id (its hostname,
//     peer-SLOT, is its name in the cluster's registry);
//   - scaled to 5: two new peers join with new ids;
//   - scaled back to 3: the two tasks Swarm stops leave gracefully;
//   - the checker judges the whole log: every property holds.
//
// It then removes the stack, waits for its network to go, and leaves the
// swarm if it joined it (removing docker_gwbridge if the swarm made it). The
// log and the checker's picture are kept in out/e2e/swarm.log and swarm.html.
func TestSwarmStack(t *testing.T) {
	requireSwarm(t)
	// Not parallel: alone, before the compose projects start (go test runs
	// the parallel tests once every sequential one is done). Joining and
	// leaving the swarm rewrites the engine's networking (docker_gwbridge,
	// the ingress network, iptables): once, every peer of test case 10
	// lost every other for seconds while the Swarm test ran beside it.
	// Alone on the engine among roster's end-to-end processes, until the
	// swarm is left (the lock's cleanup runs after the others).
	lockEngine(t, true)
	ctx := baseCtx
	if dead, err := reapDeadStacks(ctx); err == nil && len(dead) > 0 {
		t.Logf("removed the stacks of dead runs: %v", dead)
	}
	initialised, hadBridge, err := ensureSwarm(ctx)
	if err != nil {
		t.Fatalf("swarm: %v", err)
	}
	if initialised {
		t.Log("initialised a single-node swarm on 127.0.0.1; the test leaves it at the end")
		leaver := &swarmLeaver{removeBridge: !hadBridge}
		active.add(leaver)
		t.Cleanup(func() {
			if err := leaver.down(); err != nil {
				t.Errorf("leaving the swarm: %v", err)
			}
			active.remove(leaver)
		})
	}

	// A key of the run's own: the stack runs encrypted, as it should anywhere.
	var key [32]byte
	rand.Read(key[:])
	st := &swarmStack{name: newProjectName(), dir: repoRoot, image: imageName, key: base64.StdEncoding.EncodeToString(key[:])}
	active.add(st)
	t.Cleanup(func() {
		if err := st.down(); err != nil {
			t.Errorf("removing the stack: %v", err)
		}
		active.remove(st)
	})
	start := time.Now()
	t.Logf("stack %s from %s, image %s", st.name, stackFile, imageName)
	if err := st.deploy(ctx); err != nil {
		t.Fatal(err)
	}
	env, err := docker(ctx, "service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", st.service(stackService))
	if err != nil || !strings.Contains(env, `"ROSTER_ENCRYPT=`+st.key+`"`) {
		t.Fatalf("the stack's peers do not get the cluster key (ROSTER_ENCRYPT): %v", err)
	}
	logs := followLogs(ctx, []string{st.service(stackService)})
	defer logs.stop()
	if len(logs.errs) > 0 {
		t.Fatal(strings.Join(logs.errs, "; "))
	}
	step := func(what string, n, after int, timeout time.Duration) (int, map[string]int) {
		t.Helper()
		id, tasks, err := st.waitTasks(ctx, logs, stackService, n, after, timeout)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, logs.String())
		}
		t.Logf("%s: view %d, peers by task %v (%s)", what, id, tasks, time.Since(start).Round(100*time.Millisecond))
		return id, tasks
	}
	v, tasks := step("three tasks meet under tasks.peer", 3, 0, 90*time.Second)
	if ids := sortedIDs(tasks); !slices.Equal(ids, []int{1, 2, 3}) {
		t.Fatalf("three tasks got ids %v, want 1-3", ids)
	}

	// Kill a follower's container; Swarm starts a new task in its slot.
	victim, leader := "", lastLeader(logs.String())
	for _, task := range slices.Sorted(maps.Keys(tasks)) {
		if tasks[task] != leader {
			victim = task
			break
		}
	}
	killed := tasks[victim]
	old, err := taskContainer(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	oldIP, err := st.overlayIP(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docker(ctx, "kill", old); err != nil {
		t.Fatal(err)
	}
	var others []int
	for _, id := range tasks {
		if id != killed {
			others = append(others, id)
		}
	}
	slices.Sort(others)
	v, err = waitAgreed(ctx, logs, others, others, v, 45*time.Second)
	if err != nil {
		t.Fatalf("docker kill of peer %d (task %s): %v\n%s", killed, victim, err, logs.String())
	}
	t.Logf("docker kill of peer %d (task %s): removed, view %d %v (%s)", killed, victim, v, others, time.Since(start).Round(100*time.Millisecond))
	v, tasks = step(fmt.Sprintf("Swarm restarted peer %d's task", killed), 3, v, 90*time.Second)
	var restarted string
	for task, id := range tasks {
		if slotOf(task) == slotOf(victim) {
			restarted = task
			if id != killed {
				t.Errorf("the task Swarm restarted in slot %s is peer %d, want its old id %d", slotOf(task), id, killed)
			}
		}
	}
	if restarted == "" || restarted == victim {
		t.Fatalf("no new task in slot %s: %v", slotOf(victim), tasks)
	}
	now, err := taskContainer(ctx, restarted)
	if err != nil {
		t.Fatal(err)
	}
	newIP, err := st.overlayIP(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if now == old {
		t.Errorf("peer %d runs in the killed container %s", killed, old)
	}
	t.Logf("peer %d's task moved from %s to %s on the overlay", killed, oldIP, newIP)

	// Scale up (two new names, two new ids) and back down (graceful leaves).
	if err := st.scale(ctx, stackService, 5); err != nil {
		t.Fatal(err)
	}
	v, tasks = step("scaled to 5", 5, v, 90*time.Second)
	if ids := sortedIDs(tasks); !slices.Equal(ids, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("five tasks hold ids %v, want 1-5", ids)
	}
	before := tasks
	if err := st.scale(ctx, stackService, 3); err != nil {
		t.Fatal(err)
	}
	v, tasks = step("scaled to 3", 3, v, 90*time.Second)
	logs.stop()
	text := logs.String()
	for task, id := range before {
		if _, running := tasks[task]; !running && !strings.Contains(taskText(text, task), `message:"leaving"`) {
			t.Errorf("task %s (peer %d) was scaled away without a graceful leave:\n%s", task, id, taskText(text, task))
		}
	}

	logPath, err := outPath("swarm.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	judgeStackLog(t, text, logPath, "[1 2 3 4 5]")
	t.Logf("took %s, last view %d; log in %s", time.Since(start).Round(100*time.Millisecond), v, logPath)
}

// sortedIDs returns the peer ids of tasks, sorted.
func sortedIDs(tasks map[string]int) []int {
	return slices.Sorted(maps.Values(tasks))
}

// taskText returns the lines of one task in service logs.
func taskText(logs, task string) string {
	var b strings.Builder
	for _, line := range strings.Split(logs, "\n") {
		if ln := checker.ParseLine(line); ln.Name == task {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// judgeStackLog runs the checker on a stack's service logs: every property
// must hold, and the peers started must be started (e.g. "[1 2 3]").
func judgeStackLog(t *testing.T, text, logPath, started string) {
	t.Helper()
	opts := checker.Options{}
	run, err := checker.Read([]checker.Source{{Name: filepath.Base(logPath), R: strings.NewReader(text)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep := checker.Check(run, opts)
	var table bytes.Buffer
	rep.WriteText(&table)
	if htmlPath := strings.TrimSuffix(logPath, ".log") + ".html"; htmlPath != logPath {
		if f, err := os.Create(htmlPath); err == nil {
			checker.WriteHTML(f, run, rep)
			f.Close()
		}
	}
	if rep.Status() != 0 {
		t.Errorf("checker: %s\n%s", rep.Verdict, table.String())
	} else {
		t.Logf("checker:\n%s", table.String())
	}
	if got := fmt.Sprint(run.Started); got != started {
		t.Errorf("started peers %s, want %s", got, started)
	}
}

// swarmLog is a stack's service logs as a follower collects them: peer 2
// (slot 2) is killed and restarted by Swarm (a new task), slot 3 scaled away
// and back.
const swarmLog = `2026-11-30T13:36:18.553932708Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 0, leader: 0, message:"joining"}
2026-11-30T13:36:19.204807910Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}
2026-11-30T13:36:18.697855317Z st_peer.2.l1tp7gtpq8pyigwy3nlaey77a@vm    | {peer_id:2, view_id: 0, leader: 0, message:"joining"}
2026-11-30T13:36:18.698497802Z st_peer.3.iw17lwlzvigdfq4g8hri2zpmb@vm    | {peer_id:3, view_id: 0, leader: 0, message:"joining"}
2026-11-30T13:36:23.733146168Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 2, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:23.736127285Z st_peer.2.l1tp7gtpq8pyigwy3nlaey77a@vm    | {peer_id:2, view_id: 2, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:23.742286029Z st_peer.3.iw17lwlzvigdfq4g8hri2zpmb@vm    | {peer_id:3, view_id: 2, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:30.100000000Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 2, leader: 1, message:"peer 2 unreachable"}
2026-11-30T13:36:30.900000000Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 3, leader: 1, memb_list: [1,3]}
2026-11-30T13:36:30.901000000Z st_peer.3.iw17lwlzvigdfq4g8hri2zpmb@vm    | {peer_id:3, view_id: 3, leader: 1, memb_list: [1,3]}
2026-11-30T13:36:36.000000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 0, leader: 0, message:"joining"}
2026-11-30T13:36:36.200000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 2, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:36.201000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 4, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:36.202000000Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 4, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:36.203000000Z st_peer.3.iw17lwlzvigdfq4g8hri2zpmb@vm    | {peer_id:3, view_id: 4, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:40.000000000Z st_peer.3.iw17lwlzvigdfq4g8hri2zpmb@vm    | {peer_id:3, view_id: 4, leader: 1, message:"leaving"}
2026-11-30T13:36:40.300000000Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 5, leader: 1, memb_list: [1,2]}
2026-11-30T13:36:40.301000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 5, leader: 1, memb_list: [1,2]}
2026-11-30T13:36:45.000000000Z st_peer.3.8tjoc6oznyvdd3diqoi3ths3k@vm    | {peer_id:3, view_id: 0, leader: 0, message:"joining"}
2026-11-30T13:36:45.100000000Z st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5@vm    | {peer_id:1, view_id: 6, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:45.101000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 6, leader: 1, memb_list: [1,2,3]}
2026-11-30T13:36:45.102000000Z st_peer.3.8tjoc6oznyvdd3diqoi3ths3k@vm    | {peer_id:3, view_id: 6, leader: 1, memb_list: [1,2,3]}
`

// TestStackViews checks the waiting condition on service logs: the latest
// view of each peer comes from its latest task.
func TestStackViews(t *testing.T) {
	cut := func(upTo string) string { return swarmLog[:strings.Index(swarmLog, upTo)] }
	cases := []struct {
		name  string
		logs  string
		peers []int
		want  []int
		after int
		id    int
		ok    bool
	}{
		{"all meet", cut("peer 2 unreachable"), []int{1, 2, 3}, []int{1, 2, 3}, 0, 2, true},
		{"not yet all", cut("st_peer.3.iw17lwlzvigdfq4g8hri2zpmb@vm    | {peer_id:3, view_id: 2"), []int{1, 2, 3}, []int{1, 2, 3}, 0, 0, false},
		{"removed", cut(`st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 0`), []int{1, 3}, []int{1, 3}, 2, 3, true},
		{"the killed task's old view is not the re-add", cut(`st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 4`), []int{1, 2, 3}, []int{1, 2, 3}, 3, 0, false},
		{"re-added", cut(`message:"leaving"`), []int{1, 2, 3}, []int{1, 2, 3}, 3, 4, true},
		{"back after scaling", swarmLog, []int{1, 2, 3}, []int{1, 2, 3}, 5, 6, true},
		{"an old view is not newer", swarmLog, []int{1, 2, 3}, []int{1, 2, 3}, 6, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := agreed(tc.logs, tc.peers, tc.want, tc.after)
			if id != tc.id || ok != tc.ok {
				t.Errorf("agreed = %d, %v; want %d, %v", id, ok, tc.id, tc.ok)
			}
		})
	}
}

// TestJudgeStackLog checks that the checker reads service logs (task names,
// leading timestamps) and judges a killed and restarted task, and a task
// scaled away and back, as new lives: every property holds.
func TestJudgeStackLog(t *testing.T) {
	opts := checker.Options{}
	run, err := checker.Read([]checker.Source{{Name: "swarm.log", R: strings.NewReader(swarmLog)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep := checker.Check(run, opts); rep.Status() != 0 {
		var b bytes.Buffer
		rep.WriteText(&b)
		t.Errorf("checker: %s\n%s", rep.Verdict, b.String())
	}
	if run.Names[2] == "" || !strings.HasPrefix(run.Names[2], "st_peer.2.") {
		t.Errorf("peer 2's name %q, want its task's", run.Names[2])
	}
	// A live peer removed is still caught: without two's restart (its new
	// task's joining line and replayed history), two was removed alive.
	bad := strings.NewReplacer(
		"2026-11-30T13:36:36.000000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 0, leader: 0, message:\"joining\"}\n", "",
		"2026-11-30T13:36:36.200000000Z st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u@vm    | {peer_id:2, view_id: 2, leader: 1, memb_list: [1,2,3]}\n", "",
	).Replace(swarmLog)
	bad = strings.ReplaceAll(bad, "st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u", "st_peer.2.l1tp7gtpq8pyigwy3nlaey77a")
	if strings.Count(bad, "\n") != strings.Count(swarmLog, "\n")-2 {
		t.Fatalf("the edit removed the wrong lines:\n%s", bad)
	}
	run, err = checker.Read([]checker.Source{{Name: "bad.log", R: strings.NewReader(bad)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep := checker.Check(run, opts)
	if v := rep.Violated(); rep.Status() != 1 || !slices.Contains(v, "accuracy") {
		t.Errorf("a log without two's restart: status %d, violated %v; want accuracy violated", rep.Status(), v)
	}
}

// TestStackReap checks that stacks of dead runs are found by name like
// compose projects.
func TestStackReap(t *testing.T) {
	alive := func(pid int) bool { return pid == os.Getpid() }
	self := fmt.Sprintf("roster-e2e-%d-5", os.Getpid())
	got := deadRuns([]string{self, "roster-e2e-999999999-1", "roster", "other_stack"}, alive)
	if fmt.Sprint(got) != "[roster-e2e-999999999-1]" {
		t.Errorf("dead stacks %v", got)
	}
}

// TestTaskPeers checks how the test tells tasks apart in service logs: each
// task's peer id, its slot, and its own lines.
func TestTaskPeers(t *testing.T) {
	got := taskPeers(swarmLog)
	want := map[string]int{
		"st_peer.1.kaxl7mzl6dbfyq4iajsxdw1i5": 1,
		"st_peer.2.l1tp7gtpq8pyigwy3nlaey77a": 2,
		"st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u": 2,
		"st_peer.3.iw17lwlzvigdfq4g8hri2zpmb": 3,
		"st_peer.3.8tjoc6oznyvdd3diqoi3ths3k": 3,
	}
	if !maps.Equal(got, want) {
		t.Errorf("taskPeers = %v, want %v", got, want)
	}
	if s := slotOf("st_peer.2.nb7yfxb5n59rq1w2e3r4t5y6u"); s != "2" {
		t.Errorf("slotOf = %q, want 2", s)
	}
	if s := slotOf("peer"); s != "" {
		t.Errorf("slotOf(peer) = %q, want none", s)
	}
	three := taskText(swarmLog, "st_peer.3.iw17lwlzvigdfq4g8hri2zpmb")
	if n := strings.Count(three, "\n"); n != 5 || !strings.Contains(three, `message:"leaving"`) {
		t.Errorf("task lines of the scaled-away task: %d lines\n%s", n, three)
	}
}
