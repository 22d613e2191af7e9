package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/lab/checker"
)

// replicasFile runs one service, peer, as replicas with no hostsfile (--join).
const replicasFile = "deploy/compose/docker-compose-replicas.yml"

// TestComposeReplicas runs deploy/compose/docker-compose-replicas.yml: one
// service of five replicas without a hostsfile, which find each other by
// the service's DNS name and get their ids from the registry, and checks,
// from the containers' logs:
//
//   - the five meet in one view with ids 1-5 (deploy.replicas: with
//     docker-compose v1 under --compatibility);
//   - scaled to 7: two more join as 6 and 7;
//   - scaled to 3: four leave gracefully (each prints "leaving");
//   - `docker kill` of one: the other two remove it;
//   - the checker judges the whole log: every property holds.
//
// The log and the checker's picture are kept in out/e2e/replicas.log and
// replicas.html.
func TestComposeReplicas(t *testing.T) {
	requireDocker(t)
	t.Parallel() // a compose project of its own, found by its label
	lockEngine(t, false)
	ctx := baseCtx
	cmd := composeCmd
	if len(cmd) == 1 { // docker-compose v1 honours deploy.replicas only so
		cmd = append(slices.Clone(cmd), "--compatibility")
	}
	c := &composeRun{cmd: cmd, dir: repoRoot, file: replicasFile, project: newProjectName()}
	active.add(c)
	logs := &containerLogs{bufs: map[string]*lineWriter{}}
	t.Cleanup(func() {
		if err := c.down(); err != nil {
			t.Errorf("compose down: %v", err)
		}
		logs.stop()
		active.remove(c)
	})
	start := time.Now()
	watchOthersNetworkEvents(t)
	if _, err := c.run(ctx, "up", "-d"); err != nil {
		t.Fatal(err)
	}
	step := func(what string, n, after int, timeout time.Duration) (int, []int) {
		t.Helper()
		id, ids, err := logs.waitReplicas(ctx, c.project, n, after, timeout)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, logs.String())
		}
		t.Logf("%s: view %d %v (%s)", what, id, ids, time.Since(start).Round(100*time.Millisecond))
		return id, ids
	}
	v, ids := step("five replicas meet", 5, 0, 90*time.Second)
	if !slices.Equal(ids, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("five replicas got ids %v, want 1-5", ids)
	}
	if _, err := c.run(ctx, "up", "-d", "--scale", "peer=7"); err != nil {
		t.Fatal(err)
	}
	v, ids = step("scaled to 7", 7, v, 90*time.Second)
	if !slices.Equal(ids, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("seven replicas hold ids %v, want 1-7", ids)
	}
	before := logs.names()
	if _, err := c.run(ctx, "up", "-d", "--scale", "peer=3"); err != nil {
		t.Fatal(err)
	}
	v, ids = step("scaled to 3", 3, v, 90*time.Second)
	for _, name := range before {
		if id := logs.id(name); !slices.Contains(ids, id) && !strings.Contains(logs.text(name), `message:"leaving"`) {
			t.Errorf("replica %s (peer %d) was scaled away without a graceful leave:\n%s", name, id, logs.text(name))
		}
	}
	victim, leader := "", lastLeader(logs.String())
	for _, name := range logs.running(ctx, c.project) {
		if id := logs.id(name); id != leader && id != 0 {
			victim = name
			break
		}
	}
	killed := logs.id(victim)
	if _, err := docker(ctx, "kill", victim); err != nil {
		t.Fatal(err)
	}
	step(fmt.Sprintf("docker kill of peer %d", killed), 2, v, 45*time.Second)
	logs.stop()

	text := logs.String()
	logPath, err := outPath("replicas.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := checker.Options{Killed: []int{killed}}
	run, err := checker.Read([]checker.Source{{Name: filepath.Base(logPath), R: strings.NewReader(text)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep := checker.Check(run, opts)
	var table bytes.Buffer
	rep.WriteText(&table)
	if f, err := os.Create(strings.TrimSuffix(logPath, ".log") + ".html"); err == nil {
		checker.WriteHTML(f, run, rep)
		f.Close()
	}
	if rep.Status() != 0 {
		t.Errorf("checker: %s\n%s", rep.Verdict, table.String())
	}
	if got := fmt.Sprint(run.Started); got != "[1 2 3 4 5 6 7]" {
		t.Errorf("started peers %s, want [1 2 3 4 5 6 7]", got)
	}
	t.Logf("took %s; log in %s", time.Since(start).Round(100*time.Millisecond), logPath)
}

// lastLeader returns the leader of the newest view line in logs.
func lastLeader(logs string) int {
	leader, view := 0, -1
	for _, line := range strings.Split(logs, "\n") {
		if ln := checker.ParseLine(line); ln.Rec != nil && ln.Rec.Kind == checker.KindView && ln.Rec.ViewID > view {
			leader, view = ln.Rec.Leader, ln.Rec.ViewID
		}
	}
	return leader
}

// containerLogs follows `docker logs -f -t` of each container of a project
// as it appears, each line prefixed "NAME | " as compose prints it; the
// lines of a container scaled away stay. Safe for concurrent use.
type containerLogs struct {
	mu    sync.Mutex
	bufs  map[string]*lineWriter
	order []string
	wg    sync.WaitGroup
	stops []context.CancelFunc
}

// lineWriter prefixes each complete line with a container's name.
type lineWriter struct {
	mu      sync.Mutex
	prefix  string
	partial []byte
	out     bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.out.WriteString(w.prefix)
		w.out.Write(w.partial[:i+1])
		w.partial = w.partial[i+1:]
	}
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// follow starts following container name, once.
func (l *containerLogs) follow(ctx context.Context, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bufs[name] != nil {
		return
	}
	w := &lineWriter{prefix: name + " | "}
	l.bufs[name] = w
	l.order = append(l.order, name)
	ctx, cancel := context.WithCancel(ctx)
	l.stops = append(l.stops, cancel)
	cmd := exec.CommandContext(ctx, "docker", "logs", "-f", "-t", name)
	cmd.Stdout, cmd.Stderr = w, w // the view lines are on stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(w, "follow %s: %v\n", name, err)
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		cmd.Wait()
	}()
}

// stop ends the followers and waits for them.
func (l *containerLogs) stop() {
	l.mu.Lock()
	stops := l.stops
	l.stops = nil
	l.mu.Unlock()
	for _, s := range stops {
		s()
	}
	l.wg.Wait()
}

// names returns the containers followed so far.
func (l *containerLogs) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.order)
}

// text returns what container name printed.
func (l *containerLogs) text(name string) string {
	l.mu.Lock()
	w := l.bufs[name]
	l.mu.Unlock()
	if w == nil {
		return ""
	}
	return w.String()
}

// String returns every container's lines, container by container.
func (l *containerLogs) String() string {
	var b strings.Builder
	for _, name := range l.names() {
		b.WriteString(l.text(name))
	}
	return b.String()
}

// id returns the peer id container name printed (0 before its first line).
func (l *containerLogs) id(name string) int {
	for _, line := range strings.Split(l.text(name), "\n") {
		if ln := checker.ParseLine(line); ln.Rec != nil {
			return ln.Rec.Peer
		}
	}
	return 0
}

// running returns the project's running containers, and follows each.
func (l *containerLogs) running(ctx context.Context, project string) []string {
	out, err := docker(ctx, "ps", "--filter", "label="+projectLabel+"="+project, "--filter", "status=running", "--format", "{{.Names}}")
	if err != nil {
		return nil
	}
	names := strings.Fields(out)
	for _, n := range names {
		l.follow(ctx, n)
	}
	slices.Sort(names)
	return names
}

// waitReplicas waits until n containers run and every one last printed the
// same view, newer than after, whose members are their ids; it returns the
// view id and the ids.
func (l *containerLogs) waitReplicas(ctx context.Context, project string, n, after int, timeout time.Duration) (int, []int, error) {
	deadline := time.Now().Add(timeout)
	var ids []int
	for {
		names := l.running(ctx, project)
		ids = ids[:0]
		for _, name := range names {
			if id := l.id(name); id != 0 {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		if len(names) == n && len(ids) == n {
			if v, ok := agreed(l.String(), ids, ids, after); ok {
				return v, slices.Clone(ids), nil
			}
		}
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("%d running replicas %v (ids %v) did not agree on one view of them after view %d within %s; latest views: %v",
				len(names), names, ids, after, timeout, stackViews(l.String()))
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
