package node_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/peer/config"
	"roster/peer/fsm"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

// lockedBuffer collects one peer's view log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cluster runs real peers in this process, each on its own loopback address
// (127.X.Y.id, a subnet picked at random per test) with real memberlist,
// Raft and raft-boltdb.
type cluster struct {
	t     *testing.T
	dir   string
	hosts *hostsfile.File
	nodes map[int]*node.Node
	logs  map[int]*lockedBuffer
	opts  func(id int) node.Options
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dir := t.TempDir()
	subnet := fmt.Sprintf("127.%d.%d", 20+rand.IntN(200), 1+rand.IntN(250))
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("p%d %s.%d", i, subnet, i))
	}
	path := filepath.Join(dir, "hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hf, err := hostsfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, hosts: hf, nodes: map[int]*node.Node{}, logs: map[int]*lockedBuffer{}}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, nd := range c.nodes {
			wg.Add(1)
			go func() { defer wg.Done(); nd.Close() }()
		}
		wg.Wait()
		if t.Failed() {
			t.Logf("view logs:\n%s", c.viewLog())
		}
	})
	return c
}

// start starts peer id with its data directory under the test's.
func (c *cluster) start(id int) {
	c.t.Helper()
	p, _ := c.hosts.Peer(id)
	if c.logs[id] == nil {
		c.logs[id] = &lockedBuffer{}
	}
	level := os.Getenv("ROSTER_TEST_LOG")
	if level == "" {
		level = "off"
	}
	cfg := config.Config{
		Name: p.Name, Hosts: c.hosts, Bind: p.Host,
		RaftPort: 17080, GossipPort: 17081, APIPort: 17082,
		DataDir: filepath.Join(c.dir, p.Name), Voters: 5, LogLevel: level,
		ViewLog: c.logs[id], DiagLog: os.Stderr,
	}
	var opts node.Options
	if c.opts != nil {
		opts = c.opts(id)
	}
	n, err := node.Start(cfg, opts)
	if err != nil {
		c.t.Fatalf("start peer %d: %v", id, err)
	}
	c.nodes[id] = n
}

// crash stops peer id without a graceful leave, as -c does.
func (c *cluster) crash(id int) {
	c.t.Helper()
	c.nodes[id].Crash()
	delete(c.nodes, id)
}

// waitView waits until every running peer holds a view with exactly these
// members, and returns it.
func (c *cluster) waitView(members []int, timeout time.Duration) fsm.View {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var views []fsm.View
		same := true
		for _, n := range c.nodes {
			v := n.View()
			views = append(views, v)
			if !slices.Equal(v.Members, members) || (len(views) > 1 && !v.Equal(views[0])) {
				same = false
			}
		}
		if same && len(views) > 0 {
			return views[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %v the peers hold %+v, want every one on members %v", timeout, views, members)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// viewLog returns every peer's view lines, concatenated.
func (c *cluster) viewLog() string {
	var b strings.Builder
	for id := 1; id <= len(c.hosts.Peers); id++ {
		if l := c.logs[id]; l != nil {
			b.WriteString(l.String())
		}
	}
	return b.String()
}

func ids(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// startAll starts peers 1..n one after the other, each once the previous
// one is in the view, and returns the final view.
func (c *cluster) startAll(n int) fsm.View {
	var v fsm.View
	for id := 1; id <= n; id++ {
		c.start(id)
		v = c.waitView(ids(1, id), 10*time.Second)
	}
	return v
}
