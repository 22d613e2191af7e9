package measure

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/viewlog"
)

// printed is one view line a peer process printed, stamped when the bench
// read it.
type printed struct {
	peer    int
	view    int
	leader  int
	members []int
	at      time.Time
}

// procCluster runs roster peers as separate processes of bin, each on its
// own loopback address (127.X.Y.id), and records what they print. Its
// methods are safe for concurrent use.
type procCluster struct {
	bin, dir string
	hosts    string // hostsfile path
	subnet   string
	n        int
	args     []string // extra peer flags

	mu      sync.Mutex
	procs   map[int]*peerProc
	killed  map[int]time.Time // when each killed peer was killed
	views   []printed
	joining map[int]time.Time // when each peer printed its "joining" line
	other   []string          // lines that are not view records
	readers sync.WaitGroup
}

// peerProc is one running peer process.
type peerProc struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when the process has exited
}

// newProcCluster writes the hostsfile of n peers p1..pn under dir.
func newProcCluster(bin, dir string, n int, args ...string) (*procCluster, error) {
	c := &procCluster{
		bin: bin, dir: dir, n: n, args: args,
		subnet:  fmt.Sprintf("127.%d.%d", 20+rand.IntN(200), 1+rand.IntN(250)),
		procs:   map[int]*peerProc{},
		killed:  map[int]time.Time{},
		joining: map[int]time.Time{},
	}
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("p%d %s.%d", i, c.subnet, i))
	}
	c.hosts = filepath.Join(dir, "hosts")
	if err := os.WriteFile(c.hosts, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	return c, nil
}

// start starts peer id and returns when it was started (just before exec).
func (c *procCluster) start(id int) (time.Time, error) {
	name := fmt.Sprintf("p%d", id)
	args := append([]string{"-h", c.hosts, "--name", name, "--bind", fmt.Sprintf("%s.%d", c.subnet, id),
		"--log-time=false"}, c.args...)
	cmd := exec.Command(c.bin, args...)
	// As in the test cases, each peer keeps its state in a temporary
	// directory of its own; TMPDIR puts those of killed peers in c.dir.
	cmd.Env = append(os.Environ(), "ROSTER_LOG_LEVEL=warn", "ROSTER_DATA_DIR=", "TMPDIR="+c.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithParent(cmd.SysProcAttr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return time.Time{}, err
	}
	p := &peerProc{cmd: cmd, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return time.Time{}, fmt.Errorf("start peer %d: %w", id, err)
	}
	c.mu.Lock()
	c.procs[id] = p
	c.mu.Unlock()
	c.readers.Add(1)
	go func() {
		defer c.readers.Done()
		c.read(id, stderr)
		cmd.Wait()
		close(p.done)
	}()
	return p.started, nil
}

// read records the lines peer id prints until its stderr closes.
func (c *procCluster) read(id int, r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		at := time.Now()
		line := strings.TrimSpace(sc.Text())
		rec, ok := viewlog.Parse(line)
		c.mu.Lock()
		switch {
		case ok && rec.Kind == viewlog.KindView:
			c.views = append(c.views, printed{peer: rec.Peer, view: rec.ViewID, leader: rec.Leader, members: rec.Members, at: at})
		case ok && rec.Kind == viewlog.KindMessage && rec.Message == viewlog.Joining:
			c.joining[id] = at
		case !ok && line != "":
			c.other = append(c.other, fmt.Sprintf("p%d: %s", id, line))
		}
		c.mu.Unlock()
	}
}

// joinedAt returns when peer id printed its "joining" line (the peer's
// start, once the process runs and its ports are bound), if it did.
func (c *procCluster) joinedAt(id int) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.joining[id]
	return t, ok
}

// kill kills peer id with SIGKILL (a crash no one is told of) and waits
// for it to exit; it returns when the kill was sent.
func (c *procCluster) kill(id int) (time.Time, error) {
	at := time.Now()
	c.mu.Lock()
	p := c.procs[id]
	delete(c.procs, id)
	c.killed[id] = at
	c.mu.Unlock()
	if p == nil {
		return time.Time{}, fmt.Errorf("peer %d is not running", id)
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return at, err
	}
	<-p.done
	return at, nil
}

// running returns the ids of the running peers, ascending.
func (c *procCluster) running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []int
	for id := range c.procs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// pids maps the running peers to their process ids.
func (c *procCluster) pids() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for id, p := range c.procs {
		out[id] = p.cmd.Process.Pid
	}
	return out
}

// stopGrace bounds a graceful stop before the bench kills what is left.
const stopGrace = 10 * time.Second

// close stops every peer (SIGTERM, then SIGKILL after stopGrace) and waits
// for their output.
func (c *procCluster) close() {
	c.mu.Lock()
	procs := c.procs
	c.procs = map[int]*peerProc{}
	c.mu.Unlock()
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(stopGrace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	c.readers.Wait()
}

// waitFor waits until ok holds for the views printed so far, checking
// every few milliseconds, for at most timeout.
func (c *procCluster) waitFor(timeout time.Duration, what string, ok func(views []printed) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		done := ok(c.views)
		c.mu.Unlock()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %s did not happen; diagnostics: %s", timeout, what, c.diagnostics(5))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// diagnostics returns up to n of the non-view lines, for errors.
func (c *procCluster) diagnostics(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.other) == 0 {
		return "none"
	}
	return strings.Join(c.other[:min(n, len(c.other))], " | ")
}

// otherLines returns the lines peers printed that are not view records.
func (c *procCluster) otherLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.other)
}

// firstAt returns when each of peers first printed, at or after since, a
// view that satisfies ok; peers that did not are absent.
func firstAt(views []printed, peers []int, since time.Time, ok func(printed) bool) map[int]time.Time {
	out := map[int]time.Time{}
	for _, v := range views {
		if v.at.Before(since) || !slices.Contains(peers, v.peer) || !ok(v) {
			continue
		}
		if _, seen := out[v.peer]; !seen {
			out[v.peer] = v.at
		}
	}
	return out
}

// lastOf returns the latest of the times of peers, and whether every one
// of peers has a time.
func lastOf(times map[int]time.Time, peers []int) (time.Time, bool) {
	var last time.Time
	for _, id := range peers {
		t, ok := times[id]
		if !ok {
			return time.Time{}, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last, true
}

// everyoneSees waits until every one of peers printed, at or after since,
// a view that satisfies ok, and returns when the last of them did.
func (c *procCluster) everyoneSees(peers []int, since time.Time, timeout time.Duration, what string, ok func(printed) bool) (time.Time, error) {
	var last time.Time
	err := c.waitFor(timeout, what, func(views []printed) bool {
		var all bool
		last, all = lastOf(firstAt(views, peers, since, ok), peers)
		return all
	})
	return last, err
}

// raftLeader returns the Raft leader the running peers name through their
// API (the first that names one), or 0. Unlike leader, it sees a change of
// leader that changed no view.
func (c *procCluster) raftLeader() int {
	for _, id := range c.running() {
		cl := api.Client{Addr: net.JoinHostPort(fmt.Sprintf("%s.%d", c.subnet, id), strconv.Itoa(config.DefaultAPIPort)), Timeout: time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cl.Status(ctx)
		cancel()
		if err == nil && st.Leader != 0 {
			return st.Leader
		}
	}
	return 0
}

// currentLeader is raftLeader, or when no peer names one, the leader of
// the last view.
func (c *procCluster) currentLeader() int {
	if id := c.raftLeader(); id != 0 {
		return id
	}
	return c.leader()
}

// leader returns the leader of the newest view printed, 0 if none.
func (c *procCluster) leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	best := printed{}
	for _, v := range c.views {
		if v.view > best.view {
			best = v
		}
	}
	return best.leader
}

// falseRemovals describes each view that removed a peer the bench had not
// killed by the time the view was first printed: a live peer wrongly
// removed.
func (c *procCluster) falseRemovals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := map[int]printed{} // view id -> its first printing
	for _, v := range c.views {
		if f, ok := first[v.view]; !ok || v.at.Before(f.at) {
			first[v.view] = v
		}
	}
	var ids []int
	for id := range first {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []string
	for i := 1; i < len(ids); i++ {
		prev, next := first[ids[i-1]], first[ids[i]]
		if ids[i] != ids[i-1]+1 {
			continue // a view no peer printed lies between: removals unknown
		}
		for _, m := range prev.members {
			if slices.Contains(next.members, m) {
				continue
			}
			if at, ok := c.killed[m]; !ok || next.at.Before(at) {
				out = append(out, fmt.Sprintf("view %d removed live peer %d", next.view, m))
			}
		}
	}
	return out
}
