package attack

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"roster/peer/api"
	"roster/peer/config"
)

// names are the peers' hostsfile names, in id order.
var names = []string{"one", "two", "three", "four", "five"}

// Ports every peer uses on its own address.
const (
	raftPort   = config.DefaultRaftPort
	gossipPort = config.DefaultGossipPort
	apiPort    = config.DefaultAPIPort
)

// cluster is five roster processes on one loopback block. Safe for
// concurrent use.
type cluster struct {
	bin, dir, hosts string
	key             string   // "" for an open cluster
	extra           []string // more peer flags
	block           string   // "127.X.Y"

	mu    sync.Mutex
	procs map[int]*proc
	lines []string // every line any peer printed, "name | line"
}

// proc is one peer process and what was measured of it.
type proc struct {
	id     int
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the exit, once exited is closed
	maxRSS int64 // KiB
	mu     sync.Mutex
}

// ip returns the address of peer id (id 99: the attacker's, id 98: the rogue's).
func (c *cluster) ip(id int) string { return fmt.Sprintf("%s.%d", c.block, 10+id) }

func (c *cluster) addr(id, port int) string { return net.JoinHostPort(c.ip(id), strconv.Itoa(port)) }

// attackerIP is an address on the block that is no peer's.
func (c *cluster) attackerIP() net.IP { return net.ParseIP(fmt.Sprintf("%s.99", c.block)) }

// newCluster picks a free loopback block and writes the hostsfile.
func newCluster(bin, dir, key string, extra []string) (*cluster, error) {
	for range 20 {
		block := fmt.Sprintf("127.%d.%d", 64+rand.IntN(190), rand.IntN(240))
		c := &cluster{bin: bin, dir: dir, key: key, extra: extra, block: block, procs: map[int]*proc{}}
		if !c.free() {
			continue
		}
		var b strings.Builder
		for i, n := range names {
			fmt.Fprintf(&b, "%s %s\n", n, c.ip(i+1))
		}
		c.hosts = filepath.Join(dir, "hosts")
		if err := os.WriteFile(c.hosts, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("no free loopback block")
}

func (c *cluster) free() bool {
	for id := 1; id <= len(names); id++ {
		for _, p := range []int{raftPort, gossipPort, apiPort} {
			l, err := net.Listen("tcp4", c.addr(id, p))
			if err != nil {
				return false
			}
			l.Close()
		}
	}
	return true
}

// start starts peer id with its data directory.
func (c *cluster) start(id int) error {
	name := names[id-1]
	args := []string{"-h", c.hosts, "--name", name, "--bind", c.ip(id),
		"--data-dir", filepath.Join(c.dir, name), "--log-level", "warn"}
	if c.key != "" {
		args = append(args, "--encrypt", c.key)
	}
	args = append(args, c.extra...)
	return c.startProc(id, name, exec.Command(c.bin, args...))
}

func (c *cluster) startProc(id int, name string, cmd *exec.Cmd) error {
	cmd.Env = append(os.Environ(), "ROSTER_ENCRYPT=") // only the flag says
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &proc{id: id, cmd: cmd, exited: make(chan struct{})}
	c.mu.Lock()
	c.procs[id] = p
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, name+" | "+sc.Text())
			c.mu.Unlock()
		}
	}()
	go func() {
		<-done
		p.err = cmd.Wait()
		close(p.exited)
	}()
	go p.watchRSS()
	return nil
}

// watchRSS samples the process's resident set every 50 ms until it exits.
func (p *proc) watchRSS() {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.exited:
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				p.mu.Lock()
				p.maxRSS = max(p.maxRSS, kb)
				p.mu.Unlock()
			}
		}
	}
}

// boot starts every peer and waits until all five share one view.
func (c *cluster) boot(ctx context.Context) error {
	if err := c.start(1); err != nil {
		return err
	}
	if _, err := c.waitView(ctx, 1, 20*time.Second, func(s api.Status) bool { return len(s.View.Members) == 1 }); err != nil {
		return fmt.Errorf("peer 1 did not start a cluster: %w", err)
	}
	for id := 2; id <= len(names); id++ {
		if err := c.start(id); err != nil {
			return err
		}
	}
	return c.waitAll(ctx, 30*time.Second)
}

// waitAll waits until every running peer is in one view with all five.
func (c *cluster) waitAll(ctx context.Context, d time.Duration) error {
	_, err := c.waitView(ctx, 1, d, func(api.Status) bool {
		return c.agree(len(names))
	})
	return err
}

// agree reports whether every peer answers with the same view of n members.
func (c *cluster) agree(n int) bool {
	var first *api.Status
	for id := 1; id <= len(names); id++ {
		st, err := c.status(id)
		if err != nil || len(st.View.Members) != n {
			return false
		}
		if first == nil {
			first = &st
		} else if st.View.ID != first.View.ID {
			return false
		}
	}
	return true
}

// waitView polls peer id's status until ok holds.
func (c *cluster) waitView(ctx context.Context, id int, d time.Duration, ok func(api.Status) bool) (api.Status, error) {
	deadline := time.Now().Add(d)
	var last api.Status
	var lastErr error
	for time.Now().Before(deadline) {
		st, err := c.status(id)
		if err == nil && ok(st) {
			return st, nil
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if lastErr != nil {
		return last, lastErr
	}
	return last, fmt.Errorf("after %s peer %d holds view %d %v", d, id, last.View.ID, last.View.Members)
}

var httpClient = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// status asks peer id's API for its status.
func (c *cluster) status(id int) (api.Status, error) {
	var st api.Status
	resp, err := httpClient.Get("http://" + c.addr(id, apiPort) + "/health")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// leader returns the id of the peer that says it leads, or 0.
func (c *cluster) leader() int {
	for id := 1; id <= len(names); id++ {
		if st, err := c.status(id); err == nil && st.State == "Leader" {
			return id
		}
	}
	return 0
}

// follower returns a running peer that is not the leader, preferring high ids.
func (c *cluster) follower() int {
	l := c.leader()
	for id := len(names); id >= 1; id-- {
		if id != l {
			return id
		}
	}
	return 0
}

// kill kills peer id at once and waits for its exit.
func (c *cluster) kill(id int) {
	c.mu.Lock()
	p := c.procs[id]
	c.mu.Unlock()
	if p == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// dead returns the peers whose process ended without the suite killing it.
func (c *cluster) dead(killed map[int]bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id, p := range c.procs {
		select {
		case <-p.exited:
			if !killed[id] {
				out = append(out, fmt.Sprintf("peer %d (%v)", id, p.err))
			}
		default:
		}
	}
	return out
}

// maxRSS returns the largest resident set (KiB) any peer reached, and whose.
func (c *cluster) maxRSS() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best int64
	who := 0
	for id, p := range c.procs {
		p.mu.Lock()
		if p.maxRSS > best {
			best, who = p.maxRSS, id
		}
		p.mu.Unlock()
	}
	return best, who
}

// output returns every line the peers printed so far.
func (c *cluster) output() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// close kills every process.
func (c *cluster) close() {
	c.mu.Lock()
	ids := make([]int, 0, len(c.procs))
	for id := range c.procs {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.kill(id)
	}
}
