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
	"time"

	"roster/lab/checker"
)

// stackFile is the Swarm stack the test deploys, relative to the repository:
// one replicated service, stackService, whose peers find each other under
// tasks.peer.
const (
	stackFile     = "deploy/swarm/docker-stack.yml"
	stackService  = "peer"   // the stack's service, before the stack prefix
	stackNetwork  = "roster" // the stack's network, before the stack prefix
	stackSwarmTag = "com.docker.stack.namespace"
)

// swarmState returns the engine's Swarm state: "active", "inactive", ...
func swarmState(ctx context.Context) (string, error) {
	out, err := docker(ctx, "info", "--format", "{{.Swarm.LocalNodeState}}")
	return strings.TrimSpace(out), err
}

// ensureSwarm makes the engine a Swarm manager if it is in no swarm, on the
// loopback address (a single-node swarm: no traffic leaves the machine).
// It reports whether it initialised the swarm, so that the caller leaves
// only a swarm it made, and whether docker_gwbridge was there before.
func ensureSwarm(ctx context.Context) (initialised, hadBridge bool, err error) {
	state, err := swarmState(ctx)
	if err != nil {
		return false, false, err
	}
	switch state {
	case "active":
		return false, true, nil
	case "inactive":
	default:
		return false, false, fmt.Errorf("the engine's swarm is %q: want active or inactive", state)
	}
	if hadBridge, err = hasNetwork(ctx, gwBridge); err != nil {
		return false, false, err
	}
	if _, err := docker(ctx, "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"); err != nil {
		return false, hadBridge, err
	}
	return true, hadBridge, nil
}

// gwBridge is the bridge network Docker creates for Swarm tasks' traffic
// off the overlay; leaving the swarm does not remove it.
const gwBridge = "docker_gwbridge"

// hasNetwork reports whether the engine has a network of that name.
func hasNetwork(ctx context.Context, name string) (bool, error) {
	out, err := docker(ctx, "network", "ls", "--filter", "name=^"+name+"$", "--format", "{{.Name}}")
	return strings.TrimSpace(out) == name, err
}

// leaveSwarm leaves the swarm (the engine was its only node), and removes
// docker_gwbridge when the swarm created it.
func leaveSwarm(removeBridge bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := docker(ctx, "swarm", "leave", "--force"); err != nil {
		return err
	}
	if !removeBridge {
		return nil
	}
	_, err := docker(ctx, "network", "rm", gwBridge)
	return err
}

// swarmStack is one deployment of the stack file under a unique stack name.
// Not safe for concurrent use, except for down (from an interrupt).
type swarmStack struct {
	name  string
	dir   string // the repository root
	image string
	key   string // the cluster key (ROSTER_ENCRYPT), "" for an open cluster
	once  sync.Once
	err   error
}

// service returns the full name of one of the stack's services.
func (s *swarmStack) service(name string) string { return s.name + "_" + name }

// deploy deploys the stack with the test's image.
func (s *swarmStack) deploy(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "docker", "stack", "deploy", "--resolve-image", "never", "-c", stackFile, s.name)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "ROSTER_IMAGE="+s.image, "ROSTER_ENCRYPT="+s.key)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker stack deploy: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// down removes the stack and waits (at most two minutes) until its
// containers and its network are gone: `docker stack rm` returns before.
func (s *swarmStack) down() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := docker(ctx, "stack", "rm", s.name); err != nil {
			s.err = err
			return
		}
		for {
			left, err := s.leftovers(ctx)
			if err == nil && len(left) == 0 {
				return
			}
			select {
			case <-ctx.Done():
				s.err = fmt.Errorf("stack %s: still there after docker stack rm: %v %v", s.name, left, err)
				return
			case <-time.After(time.Second):
			}
		}
	})
	return s.err
}

// leftovers lists what of the stack is still on the engine.
func (s *swarmStack) leftovers(ctx context.Context) ([]string, error) {
	var left []string
	for _, q := range [][]string{
		{"service", "ls", "--filter", "label=" + stackSwarmTag + "=" + s.name, "--format", "service {{.Name}}"},
		{"ps", "-a", "--filter", "label=" + stackSwarmTag + "=" + s.name, "--format", "container {{.Names}}"},
		{"network", "ls", "--filter", "name=" + s.service(stackNetwork), "--format", "network {{.Name}}"},
		{"config", "ls", "--filter", "label=" + stackSwarmTag + "=" + s.name, "--format", "config {{.Name}}"},
	} {
		out, err := docker(ctx, q...)
		if err != nil {
			return nil, err
		}
		left = append(left, strings.Fields(strings.ReplaceAll(out, "\n", " "))...)
	}
	return left, nil
}

// runningTasks returns the tasks of a service that run now, by the names
// their lines carry in `docker service logs --no-trunc`: SERVICE.SLOT.TASKID.
func (s *swarmStack) runningTasks(ctx context.Context, service string) ([]string, error) {
	out, err := docker(ctx, "service", "ps", "--no-trunc", "--filter", "desired-state=running",
		"--format", "{{.Name}}.{{.ID}} {{.CurrentState}}", s.service(service))
	if err != nil {
		return nil, err
	}
	var tasks []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[1] == "Running" {
			tasks = append(tasks, f[0])
		}
	}
	slices.Sort(tasks)
	return tasks, nil
}

// taskContainer returns the id of a task's container.
func taskContainer(ctx context.Context, task string) (string, error) {
	id := task[strings.LastIndexByte(task, '.')+1:]
	out, err := docker(ctx, "ps", "-aq", "--filter", "label=com.docker.swarm.task.id="+id)
	if err != nil {
		return "", err
	}
	ids := strings.Fields(out)
	if len(ids) != 1 {
		return "", fmt.Errorf("task %s: %d containers, want 1", task, len(ids))
	}
	return ids[0], nil
}

// taskPeers returns, from service logs, the peer id each task printed first
// (a task prints records only once it has its id).
func taskPeers(logs string) map[string]int {
	ids := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		ln := checker.ParseLine(line)
		if ln.Rec != nil && ln.Name != "" {
			if _, ok := ids[ln.Name]; !ok {
				ids[ln.Name] = ln.Rec.Peer
			}
		}
	}
	return ids
}

// slotOf returns the slot of a task name SERVICE.SLOT.TASKID ("" if none).
func slotOf(task string) string {
	f := strings.Split(task, ".")
	if len(f) < 3 {
		return ""
	}
	return f[len(f)-2]
}

// waitTasks waits until n tasks of the service run, each has printed its
// peer id, the ids differ, and every one of them last printed the same
// view, newer than after, whose members are exactly those ids. It returns
// the view id and the running tasks' peer ids by task name.
func (s *swarmStack) waitTasks(ctx context.Context, l *serviceLogs, service string, n, after int, timeout time.Duration) (int, map[string]int, error) {
	deadline := time.Now().Add(timeout)
	for {
		tasks, err := s.runningTasks(ctx, service)
		text := l.String()
		known := taskPeers(text)
		byTask := map[string]int{}
		var ids []int
		for _, task := range tasks {
			if id, ok := known[task]; ok && !slices.Contains(ids, id) {
				byTask[task] = id
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		if err == nil && len(tasks) == n && len(ids) == n {
			if v, ok := agreed(text, ids, ids, after); ok {
				return v, byTask, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("%d running tasks %v (peers %v, %v) did not agree on one view of them after view %d within %s; latest views: %v",
				len(tasks), tasks, byTask, err, after, timeout, stackViews(text))
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// overlayIP returns a container's address on the stack's network.
func (s *swarmStack) overlayIP(ctx context.Context, id string) (string, error) {
	out, err := docker(ctx, "inspect", "--format", `{{with index .NetworkSettings.Networks "`+s.service(stackNetwork)+`"}}{{.IPAddress}}{{end}}`, id)
	return strings.TrimSpace(out), err
}

// scale sets a service's replicas and waits for the service to converge.
func (s *swarmStack) scale(ctx context.Context, service string, n int) error {
	_, err := docker(ctx, "service", "scale", "--detach=false", fmt.Sprintf("%s=%d", s.service(service), n))
	return err
}

// serviceLogs follows `docker service logs -f --timestamps --no-trunc` of
// some services into one buffer. A follower keeps the lines of tasks that
// are gone (a task scaled away, whose logs a later `docker service logs`
// no longer shows) and picks up new tasks. Safe for concurrent use.
type serviceLogs struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   []string
}

func (l *serviceLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns what the followers collected so far.
func (l *serviceLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// followLogs starts one follower per service; stop ends them.
func followLogs(ctx context.Context, services []string) *serviceLogs {
	ctx, cancel := context.WithCancel(ctx)
	l := &serviceLogs{cancel: cancel}
	for _, svc := range services {
		cmd := exec.CommandContext(ctx, "docker", "service", "logs", "-f", "--timestamps", "--no-trunc", svc)
		cmd.Stdout, cmd.Stderr = l, l // the peers print their view lines on stderr
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			l.errs = append(l.errs, fmt.Sprintf("follow %s: %v", svc, err))
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			cmd.Wait()
		}()
	}
	return l
}

// stop ends the followers and waits for them.
func (l *serviceLogs) stop() {
	l.cancel()
	l.wg.Wait()
}

// stackViews is what the followed logs say about each peer: its latest
// view line (from its latest task).
func stackViews(logs string) map[int]viewLine {
	latest := map[int]viewLine{}
	for _, line := range strings.Split(logs, "\n") {
		ln := checker.ParseLine(line)
		if ln.Rec != nil && ln.Rec.Kind == checker.KindView {
			latest[ln.Rec.Peer] = viewLine{Service: ln.Name, Time: ln.Time, Peer: ln.Rec.Peer, View: ln.Rec.ViewID,
				Leader: ln.Rec.Leader, Members: ln.Rec.Members, view: true}
		}
	}
	return latest
}

// agreed reports whether every peer in peers last printed the same view,
// with exactly want as members, newer than after; it returns that view's id.
func agreed(logs string, peers, want []int, after int) (int, bool) {
	latest := stackViews(logs)
	id := -1
	for _, p := range peers {
		v, ok := latest[p]
		if !ok || v.View <= after || !slices.Equal(v.Members, want) || (id >= 0 && v.View != id) {
			return 0, false
		}
		id = v.View
	}
	return id, id >= 0
}

// waitAgreed waits until agreed holds, or fails after timeout with the
// latest views.
func waitAgreed(ctx context.Context, l *serviceLogs, peers, want []int, after int, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		if id, ok := agreed(l.String(), peers, want, after); ok {
			return id, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("peers %v did not agree on a view %v after view %d within %s; latest views: %v", peers, want, after, timeout, stackViews(l.String()))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// stackNames returns the names of the stacks on the engine.
func stackNames(ctx context.Context) ([]string, error) {
	out, err := docker(ctx, "stack", "ls", "--format", "{{.Name}}")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// reapDeadStacks removes the stacks of swarm runs that died without
// removing them (see deadRuns).
func reapDeadStacks(ctx context.Context) ([]string, error) {
	names, err := stackNames(ctx)
	if err != nil {
		return nil, err
	}
	dead := deadRuns(names, pidAlive)
	for _, name := range dead {
		if err := (&swarmStack{name: name}).down(); err != nil {
			return dead, err
		}
	}
	return dead, nil
}

// outPath returns a path in out/e2e/, creating the directory.
func outPath(name string) (string, error) {
	dir := filepath.Join(repoRoot, "out", "e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// swarmLeaver leaves a swarm the test made, once; it is a downer so that an
// interrupt leaves it too. Leaving the last manager's swarm removes its
// stacks with it.
type swarmLeaver struct {
	removeBridge bool
	once         sync.Once
	err          error
}

func (l *swarmLeaver) down() error {
	l.once.Do(func() { l.err = leaveSwarm(l.removeBridge) })
	return l.err
}
