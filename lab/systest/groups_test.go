package systest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/groups"
	"roster/peer/node"
)

// Client checks in these tests: every 200 ms, removed after 3 misses.
const (
	gInterval = 200 * time.Millisecond
	gMisses   = 3
	// gRemoval is the bound: interval × misses + 1 s.
	gRemoval = gInterval*gMisses + time.Second
)

// groupCluster is a cluster whose peers check clients every gInterval.
type groupCluster struct {
	*cluster
	dials sync.Map // peer id -> *blocker
}

// blocker refuses the client checks of one peer to some addresses.
type blocker struct {
	mu      sync.Mutex
	blocked map[string]bool
}

func (b *blocker) block(addr string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blocked[addr] = on
}

func (b *blocker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	b.mu.Lock()
	cut := b.blocked[addr]
	b.mu.Unlock()
	if cut {
		return nil, errors.New("blocked by the test")
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

func newGroupCluster(t *testing.T, n int) *groupCluster {
	t.Helper()
	gc := &groupCluster{cluster: newCluster(t, n)}
	gc.Configure = func(id int, cfg *config.Config) {
		cfg.ClientInterval, cfg.ClientMisses = gInterval, gMisses
	}
	gc.Options = func(id int) node.Options {
		b, _ := gc.dials.LoadOrStore(id, &blocker{blocked: map[string]bool{}})
		return node.Options{Dial: b.(*blocker).dial}
	}
	return gc
}

func (c *groupCluster) blocker(id int) *blocker {
	b, _ := c.dials.Load(id)
	return b.(*blocker)
}

// api returns a groups client of peer id alone.
func (c *groupCluster) api(id int) *api.GroupsClient {
	c.t.Helper()
	n := c.Node(id)
	if n == nil {
		c.t.Fatalf("peer %d is not running", id)
	}
	return &api.GroupsClient{Addrs: []string{n.APIAddr().String()}, Timeout: 10 * time.Second}
}

// client is a group member's check listener.
type client struct {
	id string
	ln net.Listener
}

func (c *client) addr() string { return c.ln.Addr().String() }

func newClient(t *testing.T, id string) *client {
	t.Helper()
	return &client{id: id, ln: testkit.ClosingListener(t)}
}

// join joins cl to group through one peer. A 503 (no quorum, or a leader
// change mid-commit: "it may still commit") is tried again, as README tells
// clients to (a join is idempotent), within joinWithin.
func (c *groupCluster) join(through int, group string, cl *client) api.JoinResponse {
	c.t.Helper()
	var res api.JoinResponse
	var err error
	testkit.WaitFor(c.t, joinWithin, func() bool {
		res, err = c.api(through).Join(context.Background(), group, api.JoinRequest{Client: cl.id, Addr: cl.addr()})
		var he *api.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusServiceUnavailable {
			time.Sleep(he.RetryAfter)
			return false
		}
		return true
	}, func() string { return fmt.Sprintf("join %s through peer %d: %v", cl.id, through, err) })
	if err != nil {
		c.t.Fatalf("join %s through peer %d: %v", cl.id, through, err)
	}
	return res
}

// joinWithin bounds the retries of a join.
const joinWithin = 20 * time.Second

// groupAt reads a group at one peer (nil when it has no members).
func (c *groupCluster) groupAt(id int, group string) (*api.GroupResponse, error) {
	g, err := c.api(id).Group(context.Background(), group, api.ReadQuery{})
	if api.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// waitGroup waits until every running peer serves group with exactly
// these clients at one index, and returns that answer and how long it took.
func (c *groupCluster) waitGroup(group string, clients []string, timeout time.Duration) (api.GroupResponse, time.Duration) {
	c.t.Helper()
	start := time.Now()
	var last string
	for {
		var first *api.GroupResponse
		same := true
		for _, id := range c.Running() {
			g, err := c.groupAt(id, group)
			if err != nil {
				last = err.Error()
				same = false
				break
			}
			var got []string
			if g != nil {
				got = g.Clients()
			}
			if !slices.Equal(got, clients) || first != nil && (g == nil || g.Index != first.Index) {
				last = fmt.Sprintf("peer %d serves %v", id, g)
				same = false
				break
			}
			if first == nil && g != nil {
				first = g
			}
		}
		if same {
			if first == nil {
				return api.GroupResponse{}, time.Since(start)
			}
			return *first, time.Since(start)
		}
		if time.Since(start) > timeout {
			c.t.Fatalf("after %s the peers do not all serve %s = %v: %s", timeout, group, clients, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// holdGroup waits until every running peer serves group with these clients
// (incarnations as in incs, when given), then asserts that they keep doing
// so for d.
func (c *groupCluster) holdGroup(group string, clients []string, incs map[string]uint64, d time.Duration) {
	c.t.Helper()
	start := time.Now()
	for !c.serveAll(group, clients, incs) {
		if time.Since(start) > 5*time.Second {
			c.t.Fatalf("after 5 s the peers do not all serve %s = %v with incarnations %v", group, clients, incs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, id := range c.Running() {
			g, err := c.groupAt(id, group)
			if err != nil {
				c.t.Fatalf("peer %d: %v", id, err)
			}
			if g == nil || !slices.Equal(g.Clients(), clients) {
				c.t.Fatalf("peer %d serves %+v, want %v kept", id, g, clients)
			}
			for _, m := range g.Members {
				if want, ok := incs[m.Client]; ok && m.Incarnation != want {
					c.t.Fatalf("peer %d: %s is incarnation %d, want %d", id, m.Client, m.Incarnation, want)
				}
			}
		}
	}
}

// TestGroupCrashRestartAndRead: clients join through different peers;
// every peer serves the same group; a client whose listener closes is
// removed at every peer within interval × misses + 1 s; a client that
// restarts at once keeps its new incarnation; consistent and blocking reads
// work at a follower; a restarted peer serves the same group.
func TestGroupCrashRestartAndRead(t *testing.T) {
	c := newGroupCluster(t, 3)
	c.startAll(3)
	var cls []*client
	var ids []string
	for i := range 6 {
		cl := newClient(t, fmt.Sprintf("c%d", i+1))
		c.join(1+i%3, "jobs", cl)
		cls = append(cls, cl)
		ids = append(ids, cl.id)
	}
	g, _ := c.waitGroup("jobs", ids, 5*time.Second)
	owners := map[int]bool{}
	for _, m := range g.Members {
		owners[m.Owner] = true
	}
	t.Logf("owners of the 6 clients: %v", owners)
	// Every client answers: several rounds of checks remove none.
	c.holdGroup("jobs", ids, nil, gInterval*(gMisses+2))

	// c2 dies.
	cls[1].ln.Close()
	_, took := c.waitGroup("jobs", without(ids, "c2"), 10*time.Second)
	t.Logf("c2 removed at every peer %s after its listener closed", took)
	if took > gRemoval {
		t.Errorf("c2 removed at every peer after %s, want within %s", took, gRemoval)
	}
	ids = without(ids, "c2")

	// c3 restarts at once, through another peer, on a new address.
	cls[2].ln.Close()
	cls[2] = newClient(t, "c3")
	re := c.join(1, "jobs", cls[2])
	c.holdGroup("jobs", ids, map[string]uint64{"c3": re.Incarnation}, gInterval*(gMisses+3))

	// A consistent read at a follower goes through the leader; a blocking
	// query at a follower returns at the next change.
	follower := 2
	if c.Node(2).IsLeader() {
		follower = 3
	}
	cg, err := c.api(follower).Group(context.Background(), "jobs", api.ReadQuery{Consistent: true})
	if err != nil || cg.Index < re.Index || !slices.Equal(cg.Clients(), ids) {
		t.Fatalf("consistent read at follower %d: %+v, %v (want index >= %d)", follower, cg, err, re.Index)
	}
	watched := make(chan api.GroupResponse, 1)
	go func() {
		g, _ := c.api(follower).Watch(context.Background(), "jobs", cg.Index, 20*time.Second)
		watched <- g
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := c.api(1).Leave(context.Background(), "jobs", api.LeaveRequest{Client: "c6"}); err != nil {
		t.Fatal(err)
	}
	ids = without(ids, "c6")
	select {
	case w := <-watched:
		if !slices.Equal(w.Clients(), ids) || w.Index <= cg.Index {
			t.Fatalf("blocking query at follower %d returned %+v", follower, w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocking query at a follower did not return at a change")
	}
	g, _ = c.waitGroup("jobs", ids, 5*time.Second)

	// A restarted peer serves the same group at the same index.
	c.Crash(3)
	c.waitView([]int{1, 2}, 10*time.Second)
	c.start(3)
	c.waitView([]int{1, 2, 3}, 15*time.Second)
	after, _ := c.waitGroup("jobs", ids, 10*time.Second)
	if after.Index < g.Index {
		t.Fatalf("after the restart the group is at index %d, before %d", after.Index, g.Index)
	}
}

// TestGroupOwnerCrash: the peer that owns clients crashes; none of its
// clients is removed, they get new owners, every peer serves the same group.
func TestGroupOwnerCrash(t *testing.T) {
	c := newGroupCluster(t, 3)
	c.startAll(3)
	var ids []string
	for i := range 9 {
		cl := newClient(t, fmt.Sprintf("c%d", i+1))
		c.join(1+i%3, "jobs", cl)
		ids = append(ids, cl.id)
	}
	g, _ := c.waitGroup("jobs", ids, 5*time.Second)
	// Crash a follower that owns clients (a leader crash also moves the
	// leadership; the view change is what matters here).
	victim := 0
	for _, m := range g.Members {
		if !c.Node(m.Owner).IsLeader() {
			victim = m.Owner
			break
		}
	}
	if victim == 0 {
		t.Fatal("the leader owns every client: pick other ids")
	}
	incs := map[string]uint64{}
	for _, m := range g.Members {
		incs[m.Client] = m.Incarnation
	}
	c.Crash(victim)
	var rest []int
	for _, id := range ids3() {
		if id != victim {
			rest = append(rest, id)
		}
	}
	c.waitView(rest, 10*time.Second)
	c.holdGroup("jobs", ids, incs, gInterval*(gMisses+4))
	for _, id := range rest {
		g, err := c.groupAt(id, "jobs")
		if err != nil || g == nil {
			t.Fatalf("peer %d: %+v, %v", id, g, err)
		}
		for _, m := range g.Members {
			if m.Owner == victim || !slices.Contains(rest, m.Owner) {
				t.Fatalf("peer %d says %s is owned by %d after %d crashed", id, m.Client, m.Owner, victim)
			}
		}
	}
}

// serveAll reports whether every running peer serves group with these
// clients and incarnations.
func (c *groupCluster) serveAll(group string, clients []string, incs map[string]uint64) bool {
	for _, id := range c.Running() {
		g, err := c.groupAt(id, group)
		if err != nil || g == nil || !slices.Equal(g.Clients(), clients) {
			return false
		}
		for _, m := range g.Members {
			if want, ok := incs[m.Client]; ok && m.Incarnation != want {
				return false
			}
		}
	}
	return true
}

func ids3() []int { return []int{1, 2, 3} }

// TestGroupClientCutOffFromOwner: a client its owner cannot reach, while
// the other peers can, is kept (the owner asks them before removing it);
// once it really dies it is removed. Keepalives sent to a peer that is not
// the owner reach the owner.
func TestGroupClientCutOffFromOwner(t *testing.T) {
	c := newGroupCluster(t, 3)
	c.startAll(3)
	cl := newClient(t, "cut")
	owner := groups.Owner("jobs", "cut", []int{1, 2, 3})
	c.blocker(owner).block(cl.addr(), true)
	res := c.join(1, "jobs", cl)
	if res.Owner != owner {
		t.Fatalf("join says owner %d, rendezvous hashing says %d", res.Owner, owner)
	}
	c.waitGroup("jobs", []string{"cut"}, 5*time.Second)
	c.holdGroup("jobs", []string{"cut"}, nil, gInterval*(gMisses+4))
	cl.ln.Close()
	_, took := c.waitGroup("jobs", nil, 10*time.Second)
	t.Logf("a client cut off from its owner, then dead, removed %s after its death", took)
	if took > gRemoval {
		t.Errorf("removed after %s, want within %s", took, gRemoval)
	}

	// Keepalives through another peer keep a client nobody can check.
	other := owner%3 + 1
	ka := newClient(t, "ka")
	c.blocker(owner).block(ka.addr(), true)
	for _, id := range ids3() {
		if id != owner {
			c.blocker(id).block(ka.addr(), true)
		}
	}
	c.join(other, "jobs2", ka)
	stop := time.Now().Add(gInterval * (gMisses + 4))
	for time.Now().Before(stop) {
		k, err := c.api(other).Keepalive(context.Background(), "jobs2", "ka")
		owner2 := groups.Owner("jobs2", "ka", []int{1, 2, 3})
		if err != nil || k.Owner != owner2 || (owner2 != other && !k.Counted) {
			t.Fatalf("keepalive through peer %d: %+v, %v", other, k, err)
		}
		time.Sleep(gInterval / 3)
	}
	c.waitGroup("jobs2", []string{"ka"}, time.Second)
	_, took = c.waitGroup("jobs2", nil, 10*time.Second)
	t.Logf("without keepalives, removed %s after the last", took)
}

// TestGroupNoQuorum: without a quorum a write answers 503 with Retry-After
// and changes nothing; reads still answer from the committed state.
func TestGroupNoQuorum(t *testing.T) {
	c := newGroupCluster(t, 3)
	c.unjudged = true // two of three crash: the survivor cannot remove them
	c.startAll(3)
	cl := newClient(t, "c1")
	c.join(2, "jobs", cl)
	c.waitGroup("jobs", []string{"c1"}, 5*time.Second)
	survivor := 3
	c.Crash(1)
	c.Crash(2)
	_, err := c.api(survivor).Join(context.Background(), "jobs", api.JoinRequest{Client: "c2", Addr: "127.0.0.1:1"})
	var he *api.HTTPError
	if !errors.As(err, &he) || he.Code != 503 || he.RetryAfter <= 0 {
		t.Fatalf("join without quorum: %v, want 503 with Retry-After", err)
	}
	g, err := c.groupAt(survivor, "jobs")
	if err != nil || g == nil || !slices.Equal(g.Clients(), []string{"c1"}) {
		t.Fatalf("read without quorum: %+v, %v", g, err)
	}
	if _, err := c.api(survivor).Group(context.Background(), "jobs", api.ReadQuery{Consistent: true}); !errors.As(err, &he) || he.Code != 503 {
		t.Fatalf("consistent read without quorum: %v, want 503", err)
	}
}

func without(ids []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == id })
}
