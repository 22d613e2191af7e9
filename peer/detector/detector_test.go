package detector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"

	"roster/internal/testkit"
	"roster/peer/hostsfile"
)

// Each test runs real memberlist instances, one per peer, each on its own
// loopback IP in 127.230.S.0/24 (Linux routes all of 127/8 to lo), S random
// per test, outside the ranges the other packages' tests use.

// deadline bounds every wait; the tests poll for conditions.
const deadline = 15 * time.Second

const gossipPort = 7946

// needLoopbackIP skips the test when the host cannot bind ip (only
// 127.0.0.1 is bound on some systems).
func needLoopbackIP(t *testing.T, ip string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot bind %s on this host: %v", ip, err)
	}
	ln.Close()
}

// cut drops the UDP packets a peer sends to one IP while it is set: that
// peer's direct pings go unanswered, while memberlist still sees the target
// alive through indirect probes and TCP.
type cut struct {
	memberlist.NodeAwareTransport
	ip      string
	on      atomic.Bool
	dropped atomic.Int64
}

func (c *cut) drop(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if c.on.Load() && err == nil && host == c.ip {
		c.dropped.Add(1)
		return true
	}
	return false
}

func (c *cut) WriteTo(b []byte, addr string) (time.Time, error) {
	if c.drop(addr) {
		return time.Now(), nil
	}
	return c.NodeAwareTransport.WriteTo(b, addr)
}

func (c *cut) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if c.drop(a.Addr) {
		return time.Now(), nil
	}
	return c.NodeAwareTransport.WriteToAddress(b, a)
}

// peer is one detector of a test cluster.
type peer struct {
	*Detector
	logs *testkit.SyncBuffer
	cut  *cut // nil unless the peer was started with one

	mu    sync.Mutex
	downs map[int]int // OnDown calls per peer id
}

func (p *peer) downCount(id int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.downs[id]
}

func (p *peer) member(id int) bool {
	_, ok := p.Members()[id]
	return ok
}

// testCluster is n peers named p1..pn in one hostsfile.
type testCluster struct {
	t      *testing.T
	subnet int
	hosts  *hostsfile.File
	peers  []*peer // by id-1; an entry is replaced when its peer restarts
	// outside holds the peers the started peers' views do not hold (set
	// before start; Config.InView). Empty: every peer is a view member.
	outside map[int]bool
}

func (c *testCluster) ip(id int) string { return fmt.Sprintf("127.230.%d.%d", c.subnet, id) }

func newTestCluster(t *testing.T, n int) *testCluster {
	c := &testCluster{t: t, subnet: 1 + rand.IntN(250)}
	needLoopbackIP(t, c.ip(1))
	var lines strings.Builder
	for id := 1; id <= n; id++ {
		fmt.Fprintf(&lines, "p%d %s\n", id, c.ip(id))
	}
	hosts, err := hostsfile.Parse("test", strings.NewReader(lines.String()))
	if err != nil {
		t.Fatal(err)
	}
	c.hosts = hosts
	c.peers = make([]*peer, n)
	return c
}

// start starts peer id (again); withCut gives it a cut transport aimed at
// peer cutTo. It joins the others through Run (every 200 ms).
func (c *testCluster) start(id int, cutTo int) *peer {
	t := c.t
	p := &peer{logs: &testkit.SyncBuffer{}, downs: map[int]int{}}
	cfg := Config{
		Self: c.hosts.Peers[id-1], Hosts: c.hosts,
		BindAddr: c.ip(id), AdvertiseAddr: c.ip(id), Port: gossipPort,
		Meta: Meta{RaftPort: 1},
		OnDown: func(id int) {
			p.mu.Lock()
			p.downs[id]++
			p.mu.Unlock()
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: fmt.Sprintf("p%d", id), Output: p.logs, Level: hclog.Info}),
	}
	if outside := c.outside; len(outside) > 0 {
		cfg.InView = func(id int) bool { return !outside[id] }
	}
	if cutTo != 0 {
		p.cut = &cut{ip: c.ip(cutTo)}
		cfg.WrapTransport = func(tr memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
			p.cut.NodeAwareTransport = tr
			return p.cut
		}
	}
	var err error
	// A restarted peer may find its port still held for a moment.
	for end := time.Now().Add(deadline); ; {
		if p.Detector, err = Start(cfg); err == nil || time.Now().After(end) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("start p%d: %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, 200*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		p.Shutdown()
		<-done
	})
	c.peers[id-1] = p
	return p
}

// converge waits until every listed peer sees all of them as members.
func (c *testCluster) converge(ids ...int) {
	c.t.Helper()
	testkit.Eventually(c.t, deadline, fmt.Sprintf("peers %v to see each other", ids), func() bool {
		for _, a := range ids {
			for _, b := range ids {
				if !c.peers[a-1].member(b) {
					return false
				}
			}
		}
		return true
	})
}

// checking reports whether a direct check of id is in flight at p.
func (p *peer) checking(id int) bool {
	p.Detector.mu.Lock()
	defer p.Detector.mu.Unlock()
	return p.checks[id]
}

// TestCheckConfirmsCrash: a direct check of a crashed peer confirms it down
// in its rounds of pings: OnDown is called once and it leaves the members.
func TestCheckConfirmsCrash(t *testing.T) {
	c := newTestCluster(t, 3)
	for id := 1; id <= 3; id++ {
		c.start(id, 0)
	}
	c.converge(1, 2, 3)
	p1 := c.peers[0]
	c.peers[2].Shutdown() // crash: nobody is told
	start := time.Now()
	p1.Check(3)
	testkit.Eventually(t, deadline, "OnDown(3) at p1", func() bool { return p1.downCount(3) == 1 })
	t.Logf("confirmed down %v after the crash", time.Since(start))
	if p1.member(3) {
		t.Fatalf("p1 still counts 3 as a member after OnDown: %v", p1.Members())
	}
	if p1.downCount(2) != 0 || !p1.member(2) {
		t.Fatalf("live peer 2 affected: downs %d, members %v", p1.downCount(2), p1.Members())
	}
	// The evidence stays once memberlist's own verdict has come (it clears
	// the confirmation the member set uses).
	testkit.Eventually(t, deadline, "memberlist's verdict on 3 at p1", func() bool {
		p1.Detector.mu.Lock()
		defer p1.Detector.mu.Unlock()
		return !p1.Detector.down[3]
	})
	if g := p1.Gone(); len(g) != 1 || !hasKey(g, 3) {
		t.Fatalf("p1.Gone() = %v, want 3 alone", g)
	}
}

func hasKey(m map[int]uint64, id int) bool {
	_, ok := m[id]
	return ok
}

// TestDeclaredDeadNotRechecked: a peer that memberlist declared dead and a
// check confirmed down is not pinged again (its return comes through
// memberlist), and memberlist seeing it alive readmits it.
func TestDeclaredDeadNotRechecked(t *testing.T) {
	c := newTestCluster(t, 3)
	p1 := c.start(1, 3)
	c.start(2, 0)
	c.start(3, 0)
	c.converge(1, 2, 3)
	var node *memberlist.Node
	for _, n := range p1.ml.Load().Members() {
		if n.Name == "p3" {
			node = n
		}
	}
	if node == nil {
		t.Fatal("p1's memberlist does not list p3")
	}
	// p1's pings to 3 are lost (memberlist's indirect probes get through,
	// so it sends no verdict of its own); it declares 3 dead.
	p1.cut.on.Store(true)
	(&events{d: p1.Detector}).NotifyLeave(node)
	testkit.Eventually(t, deadline, "OnDown(3) at p1", func() bool { return p1.downCount(3) == 1 })
	testkit.Eventually(t, deadline, "the check of 3 to end (no re-check)", func() bool { return !p1.checking(3) })
	if p1.member(3) {
		t.Fatalf("3 still a member after OnDown: %v", p1.Members())
	}
	if !hasKey(p1.Gone(), 3) {
		t.Fatalf("3 confirmed down but not in Gone: %v", p1.Gone())
	}
	p1.cut.on.Store(false)
	(&events{d: p1.Detector}).NotifyJoin(node) // memberlist sees it alive again
	if !p1.member(3) {
		t.Fatalf("3 not readmitted by memberlist's verdict: %v", p1.Members())
	}
	if hasKey(p1.Gone(), 3) {
		t.Fatalf("3 seen alive again but still in Gone: %v", p1.Gone())
	}
}

// TestCheckRefutesLivePeer: a check of a live peer ends without OnDown, and
// a live peer that memberlist wrongly declared dead stays a member while
// checks keep refuting it, until memberlist sees it alive again.
func TestCheckRefutesLivePeer(t *testing.T) {
	c := newTestCluster(t, 3)
	for id := 1; id <= 3; id++ {
		c.start(id, 0)
	}
	c.converge(1, 2, 3)
	p1 := c.peers[0]

	p1.Check(2)
	if !p1.checking(2) {
		t.Fatal("no check of 2 in flight right after Check(2)")
	}
	testkit.Eventually(t, deadline, "the check of 2 to end", func() bool { return !p1.checking(2) })
	if p1.downCount(2) != 0 || !p1.member(2) {
		t.Fatalf("live peer 2 confirmed down: downs %d, members %v", p1.downCount(2), p1.Members())
	}

	// memberlist's (false) dead verdict on 2.
	node := p1.ml.Load().LocalNode()
	for _, n := range p1.ml.Load().Members() {
		if n.Name == "p2" {
			node = n
		}
	}
	if node.Name != "p2" {
		t.Fatal("p1's memberlist does not list p2")
	}
	rounds := p1.rounds.Load()
	(&events{d: p1.Detector}).NotifyLeave(node)
	if !p1.checking(2) {
		t.Fatal("no check of 2 after memberlist declared it dead")
	}
	if !p1.member(2) {
		t.Fatal("2 left the members on memberlist's verdict alone")
	}
	// The check refutes it and re-checks it while memberlist says dead.
	testkit.Eventually(t, deadline, "a re-check of 2", func() bool { return p1.rounds.Load() >= rounds+2 })
	if !p1.checking(2) || !p1.pendingHas(2) || !p1.member(2) || p1.downCount(2) != 0 {
		t.Fatalf("after a re-check: checking %v, pending %v, member %v, downs %d; want true, true, true, 0",
			p1.checking(2), p1.pendingHas(2), p1.member(2), p1.downCount(2))
	}
	(&events{d: p1.Detector}).NotifyJoin(node) // memberlist sees it alive again
	testkit.Eventually(t, deadline, "the re-checks of 2 to end", func() bool { return !p1.checking(2) })
	if p1.downCount(2) != 0 || !p1.member(2) {
		t.Fatalf("live peer 2 confirmed down: downs %d, members %v", p1.downCount(2), p1.Members())
	}
}

// TestVerdictOnNonMemberIsFinal: memberlist's dead verdict on a peer that is
// not in the view takes it out of the member set at once, with no direct
// check (when many peers start at once on a starved machine, checking every
// false verdict on joiners made most of the load); memberlist seeing it
// alive again brings it back. A view member is still checked.
func TestVerdictOnNonMemberIsFinal(t *testing.T) {
	c := newTestCluster(t, 3)
	c.outside = map[int]bool{3: true}
	for id := 1; id <= 3; id++ {
		c.start(id, 0)
	}
	c.converge(1, 2, 3)
	p1 := c.peers[0]
	nodes := map[string]*memberlist.Node{}
	for _, n := range p1.ml.Load().Members() {
		nodes[n.Name] = n
	}
	rounds := p1.rounds.Load()
	(&events{d: p1.Detector}).NotifyLeave(nodes["p3"])
	if p1.checking(3) || p1.pendingHas(3) || p1.member(3) {
		t.Fatalf("after the verdict on non-member 3: checking %v, pending %v, member %v; want all false",
			p1.checking(3), p1.pendingHas(3), p1.member(3))
	}
	if r := p1.rounds.Load(); r != rounds {
		t.Fatalf("%d ping rounds after the verdict on a non-member, want none", r-rounds)
	}
	(&events{d: p1.Detector}).NotifyJoin(nodes["p3"])
	if !p1.member(3) {
		t.Fatalf("3 not back once memberlist sees it alive: %v", p1.Members())
	}
	// A member's verdict still starts a check, and it stays a member meanwhile.
	(&events{d: p1.Detector}).NotifyLeave(nodes["p2"])
	if !p1.checking(2) || !p1.member(2) {
		t.Fatalf("after the verdict on member 2: checking %v, member %v; want true, true", p1.checking(2), p1.member(2))
	}
}

func (p *peer) pendingHas(id int) bool {
	p.Detector.mu.Lock()
	defer p.Detector.mu.Unlock()
	_, ok := p.pending[id]
	return ok
}

// TestRecheckReadmitsPeer: a peer confirmed down by a direct check while
// memberlist still sees it alive (p1's pings to it are lost; memberlist's
// indirect probes get through) is re-checked, and rejoins the members once
// it answers again.
func TestRecheckReadmitsPeer(t *testing.T) {
	c := newTestCluster(t, 3)
	p1 := c.start(1, 3)
	c.start(2, 0)
	c.start(3, 0)
	c.converge(1, 2, 3)

	p1.cut.on.Store(true)
	p1.Check(3)
	testkit.Eventually(t, deadline, "OnDown(3) at p1", func() bool { return p1.downCount(3) == 1 })
	if p1.member(3) {
		t.Fatalf("3 still a member after OnDown: %v", p1.Members())
	}
	p1.cut.on.Store(false)
	testkit.Eventually(t, deadline, "3 back among p1's members", func() bool { return p1.member(3) })
	if !strings.Contains(p1.logs.String(), "peer answers again") {
		t.Fatalf("3 came back, but not through a re-check; p1's log:\n%s", p1.logs)
	}
	if n := p1.downCount(3); n != 1 {
		t.Fatalf("OnDown(3) called %d times, want 1", n)
	}
}

// TestShutdownEndsGoroutines is the regression test for re-checks that kept
// pinging after Shutdown: with a re-check of a down peer and re-joins of a
// missing one running, Shutdown returns only once every goroutine of the
// detector has ended, and none starts afterwards.
func TestShutdownEndsGoroutines(t *testing.T) {
	c := newTestCluster(t, 4) // p4 never starts: Run keeps re-joining it
	p1 := c.start(1, 3)
	c.start(2, 0)
	c.start(3, 0)
	c.converge(1, 2, 3)

	p1.cut.on.Store(true)
	p1.Check(3)
	testkit.Eventually(t, deadline, "OnDown(3) at p1", func() bool { return p1.downCount(3) == 1 })
	if !p1.checking(3) {
		t.Fatal("no re-check of 3 running")
	}
	if p1.running.Load() == 0 {
		t.Fatal("no goroutine counted while a re-check runs")
	}
	start := time.Now()
	p1.Shutdown()
	took := time.Since(start)
	if n := p1.running.Load(); n != 0 {
		t.Fatalf("%d goroutines of p1's detector still running after Shutdown (took %v)", n, took)
	}
	t.Logf("Shutdown took %v", took)
	// Late signals start nothing.
	p1.Check(2)
	(&events{d: p1.Detector}).NotifyLeave(&memberlist.Node{Name: "p2", Addr: net.ParseIP(c.ip(2))})
	p1.rejoinMissing(context.Background())
	if n := p1.running.Load(); n != 0 {
		t.Fatalf("%d goroutines started after Shutdown", n)
	}
	if p1.Shutdown() != nil {
		// memberlist's Shutdown is idempotent; ours must be too.
		t.Log("second Shutdown returned an error")
	}

	// Once every peer is shut down, no goroutine runs detector code.
	for _, p := range c.peers {
		if p != nil {
			p.Shutdown()
		}
	}
	testkit.Eventually(t, deadline, "no goroutine in detector code", func() bool {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "detector.(*Detector)") && !strings.Contains(g, "testing.tRunner") {
				return false
			}
		}
		return true
	})
}

// TestGoneAfterLeave: a peer that left gracefully is evidence in Gone (the
// life it left in) until it is seen alive again.
func TestGoneAfterLeave(t *testing.T) {
	c := newTestCluster(t, 2)
	p1 := c.start(1, 0)
	p2 := c.start(2, 0)
	c.converge(1, 2)
	if g := p1.Gone(); len(g) != 0 {
		t.Fatalf("p1.Gone() = %v before anyone left", g)
	}
	if err := p2.Leave(deadline); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, deadline, "2 in p1's Gone", func() bool { return hasKey(p1.Gone(), 2) })
	p2.Shutdown()
	c.start(2, 0)
	testkit.Eventually(t, deadline, "2 back, out of p1's Gone", func() bool { return p1.member(2) && !hasKey(p1.Gone(), 2) })
}
