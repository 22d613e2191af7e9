// Package localcluster runs real roster peers inside one process, each on
// its own loopback address (127.X.Y.id, a subnet picked at random), with
// real memberlist, Raft and raft-boltdb. Cluster tests and the latency
// measurements use it. Linux routes all of 127.0.0.0/8 to the loopback
// interface; elsewhere only 127.0.0.1 exists and Cluster does not work.
package localcluster

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"roster/lab/faultnode"
	"roster/peer/config"
	"roster/peer/fsm"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

// Install is one view a peer installed (and printed), with when.
type Install struct {
	Peer int
	View fsm.View
	At   time.Time
}

// Cluster is a set of in-process peers. Its methods are safe for concurrent use.
type Cluster struct {
	dir   string
	hosts *hostsfile.File
	// LogLevel is the diagnostic log level of the peers ("off" by default).
	LogLevel string
	// Options, if set, gives each peer its seams (fault injection, hooks).
	Options func(id int) node.Options
	// Configure, if set, may change each peer's config before it starts.
	Configure func(id int, cfg *config.Config)
	// Faults, if set, gives each peer whose second result is true fault
	// injection (and scenarios such as the leader crash) with those options.
	Faults func(id int) (faultnode.Options, bool)

	mu       sync.Mutex
	nodes    map[int]*node.Node
	faulty   map[int]*faultnode.Peer
	logs     map[int]*bytes.Buffer
	installs []Install
}

// New prepares a cluster of n peers named p1..pn, with their hostsfile and
// data directories under dir. No peer runs until Start.
func New(dir string, n int) (*Cluster, error) {
	subnet := fmt.Sprintf("127.%d.%d", 20+rand.IntN(200), 1+rand.IntN(250))
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("p%d %s.%d", i, subnet, i))
	}
	path := filepath.Join(dir, "hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	hf, err := hostsfile.Load(path)
	if err != nil {
		return nil, err
	}
	return &Cluster{dir: dir, hosts: hf, LogLevel: "off", nodes: map[int]*node.Node{}, faulty: map[int]*faultnode.Peer{}, logs: map[int]*bytes.Buffer{}}, nil
}

// Every peer listens on its own loopback address, at these ports.
const (
	RaftPort   = 17080
	GossipPort = 17081
	APIPort    = 17082
)

// Hostsfile returns the path of the cluster's hostsfile.
func (c *Cluster) Hostsfile() string { return filepath.Join(c.dir, "hosts") }

// DataDir returns peer id's data directory.
func (c *Cluster) DataDir(id int) string { return filepath.Join(c.dir, fmt.Sprintf("p%d", id)) }

// Addr returns peer id's IP address ("" for no such peer).
func (c *Cluster) Addr(id int) string {
	p, _ := c.hosts.Peer(id)
	return p.Host
}

// Size is the number of peers in the hostsfile.
func (c *Cluster) Size() int { return len(c.hosts.Peers) }

// viewWriter records one peer's view log.
type viewWriter struct {
	c  *Cluster
	id int
}

func (w viewWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.logs[w.id].Write(p)
}

// Start starts peer id (again, after a crash) with its data directory.
func (c *Cluster) Start(id int) error {
	p, ok := c.hosts.Peer(id)
	if !ok {
		return fmt.Errorf("no peer %d", id)
	}
	c.mu.Lock()
	if c.logs[id] == nil {
		c.logs[id] = &bytes.Buffer{}
	}
	c.mu.Unlock()
	cfg := config.Config{
		Name: p.Name, Hosts: c.hosts, Bind: p.Host,
		RaftPort: RaftPort, GossipPort: GossipPort, APIPort: APIPort,
		DataDir: c.DataDir(id), Voters: config.DefaultVoters, LogLevel: c.LogLevel,
		ViewLog: viewWriter{c, id}, DiagLog: os.Stderr,
	}
	if c.Configure != nil {
		c.Configure(id, &cfg)
	}
	var opts node.Options
	if c.Options != nil {
		opts = c.Options(id)
	}
	prev := opts.OnInstall
	opts.OnInstall = func(v fsm.View) {
		c.mu.Lock()
		c.installs = append(c.installs, Install{Peer: id, View: v, At: time.Now()})
		c.mu.Unlock()
		if prev != nil {
			prev(v)
		}
	}
	var fp *faultnode.Peer
	if c.Faults != nil {
		if fo, ok := c.Faults(id); ok {
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("start peer %d: %w", id, err)
			}
			fp = faultnode.New(cfg, fo)
			opts = fp.NodeOptions(opts)
		}
	}
	n, err := node.Start(cfg, opts)
	if err != nil {
		return fmt.Errorf("start peer %d: %w", id, err)
	}
	if fp != nil {
		if err := fp.Attach(n); err != nil {
			n.Close()
			return fmt.Errorf("start peer %d: %w", id, err)
		}
	}
	c.mu.Lock()
	c.nodes[id] = n
	if fp != nil {
		c.faulty[id] = fp
	} else {
		delete(c.faulty, id)
	}
	c.mu.Unlock()
	return nil
}

// StartAll starts peers 1..n at once.
func (c *Cluster) StartAll(n int) error {
	errs := make(chan error, n)
	for id := 1; id <= n; id++ {
		go func() { errs <- c.Start(id) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Node returns the running peer id, or nil.
func (c *Cluster) Node(id int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// FaultPeer returns the fault side of peer id, or nil when it runs without
// fault injection.
func (c *Cluster) FaultPeer(id int) *faultnode.Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faulty[id]
}

// Running returns the ids of the running peers, ascending.
func (c *Cluster) Running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for id := range c.nodes {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// take removes peer id from the running set and returns it (nil if none).
func (c *Cluster) take(id int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	delete(c.nodes, id)
	if fp := c.faulty[id]; fp != nil {
		fp.Close()
		delete(c.faulty, id)
	}
	return n
}

// Crash stops peer id without a graceful leave (it prints "crashing", as -c).
func (c *Cluster) Crash(id int) {
	if n := c.take(id); n != nil {
		n.Crash()
	}
}

// WipeData deletes the data directory of peer id, which must not be
// running: its next Start begins with no Raft state, like a container
// restarted without its volume.
func (c *Cluster) WipeData(id int) error {
	p, ok := c.hosts.Peer(id)
	if !ok {
		return fmt.Errorf("no peer %d", id)
	}
	if c.Node(id) != nil {
		return fmt.Errorf("peer %d is running", id)
	}
	return os.RemoveAll(filepath.Join(c.dir, p.Name))
}

// Leave makes peer id leave gracefully.
func (c *Cluster) Leave(id int) {
	if n := c.take(id); n != nil {
		n.Leave(5 * time.Second)
	}
}

// Close stops every running peer.
func (c *Cluster) Close() {
	c.mu.Lock()
	nodes := c.nodes
	c.nodes = map[int]*node.Node{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Close() }()
	}
	wg.Wait()
}

// WaitView waits until every running peer holds the same view, with
// exactly these members, and returns it. It looks every 5 ms, or less often
// in a large cluster (see pollEvery).
func (c *Cluster) WaitView(members []int, timeout time.Duration) (fsm.View, error) {
	deadline := time.Now().Add(timeout)
	for {
		var views []fsm.View
		same := true
		running := c.Running()
		for _, id := range running {
			n := c.Node(id)
			if n == nil {
				continue
			}
			v := n.View()
			views = append(views, v)
			if !slices.Equal(v.Members, members) || !v.Equal(views[0]) {
				same = false
			}
		}
		if same && len(views) > 0 {
			return views[0], nil
		}
		if time.Now().After(deadline) {
			return fsm.View{}, fmt.Errorf("after %v the peers hold %s; want every one on members %s", timeout, tally(views), ranges(members))
		}
		time.Sleep(pollEvery(len(running)))
	}
}

// tally summarizes the views the peers hold, one entry per distinct view
// with how many peers hold it, most held first ("193 on view 1 [1], 7 on
// none"): with hundreds of peers, the views one by one make an unreadable
// line.
func tally(views []fsm.View) string {
	type held struct {
		desc  string
		peers int
	}
	var out []held
	index := map[string]int{}
	for _, v := range views {
		desc := "none"
		if v.ID != 0 {
			desc = fmt.Sprintf("view %d %s", v.ID, ranges(v.Members))
		}
		i, ok := index[desc]
		if !ok {
			i = len(out)
			index[desc] = i
			out = append(out, held{desc: desc})
		}
		out[i].peers++
	}
	slices.SortStableFunc(out, func(a, b held) int { return b.peers - a.peers })
	parts := make([]string, len(out))
	for i, h := range out {
		parts[i] = fmt.Sprintf("%d on %s", h.peers, h.desc)
	}
	return strings.Join(parts, ", ")
}

// ranges writes sorted ids compactly: [1-5,7,9-12].
func ranges(ids []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ids[i], ids[j])
		} else {
			fmt.Fprintf(&b, "%d", ids[i])
		}
		i = j + 1
	}
	b.WriteByte(']')
	return b.String()
}

// pollEvery is how long WaitView waits between two looks at n peers: 5 ms
// up to 10 peers, 0.5 ms more per peer above, at most 100 ms. Each look
// copies every peer's view (members and lives): looking at 250 peers every
// 5 ms took about half a core from the peers a measurement times.
func pollEvery(n int) time.Duration {
	return min(5*time.Millisecond+time.Duration(max(n-10, 0))*500*time.Microsecond, 100*time.Millisecond)
}

// ViewLog returns the view lines peer id printed.
func (c *Cluster) ViewLog(id int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.logs[id]; b != nil {
		return b.String()
	}
	return ""
}

// ViewLogs returns every peer's view lines, peer by peer.
func (c *Cluster) ViewLogs() string {
	var b strings.Builder
	for id := 1; id <= c.Size(); id++ {
		b.WriteString(c.ViewLog(id))
	}
	return b.String()
}

// Installs returns every view installation recorded so far, in order.
func (c *Cluster) Installs() []Install {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.installs)
}

// Ids returns from, from+1, ..., to.
func Ids(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}
