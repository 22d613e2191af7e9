package systest

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/peer/config"
)

// joinCluster is a cluster whose peers have no hostsfile: each finds the
// others through --join (the addresses of slots 1 and 2) and gets its id
// from the registry; slots 1-3 may found the cluster (--bootstrap-expect 3).
func joinCluster(t *testing.T, slots int) *cluster {
	c := newCluster(t, slots)
	if l := os.Getenv("SYSTEST_LOG"); l != "" {
		c.LogLevel = l // diagnostics on stderr
	}
	c.Configure = func(slot int, cfg *config.Config) {
		cfg.Hosts = nil
		cfg.Join = []string{c.Addr(1), c.Addr(2)}
		if slot <= 3 {
			cfg.BootstrapExpect = 3
		}
	}
	return c
}

// idOf returns the id the running peer in slot holds.
func (c *cluster) idOf(slot int) int {
	c.t.Helper()
	n := c.Node(slot)
	if n == nil {
		c.t.Fatalf("slot %d runs no peer", slot)
	}
	return n.Status().ID
}

// ids of the running slots, ascending.
func (c *cluster) runningIDs(slots ...int) []int {
	var out []int
	for _, s := range slots {
		out = append(out, c.idOf(s))
	}
	slices.Sort(out)
	return out
}

func TestJoinWithoutHostsfile(t *testing.T) {
	c := joinCluster(t, 6)
	if err := c.StartAll(3); err != nil {
		t.Fatal(err)
	}
	// Three peers, one founder: ids 1-3, each once, in one view.
	if got := c.runningIDs(1, 2, 3); !slices.Equal(got, ids(1, 3)) {
		t.Fatalf("ids %v, want [1 2 3]", got)
	}
	c.waitView(ids(1, 3), 15*time.Second)

	// A fourth gets the next id; it leaves gracefully.
	c.start(4)
	id4 := c.idOf(4)
	if id4 != 4 {
		t.Fatalf("the fourth peer got id %d, want 4", id4)
	}
	c.waitView(ids(1, 4), 15*time.Second)
	c.Leave(4)
	c.waitView(ids(1, 3), 15*time.Second)

	// The registry goes into every peer's snapshot.
	// (Raft refuses one while a configuration change is being applied:
	// the leader removes the peer that left from it right after the view.)
	slots := c.Running()
	slices.SortFunc(slots, func(a, b int) int { return boolInt(c.Node(b).IsLeader()) - boolInt(c.Node(a).IsLeader()) })
	for _, s := range slots {
		var err error
		testkit.WaitFor(t, 10*time.Second, func() bool { err = c.Node(s).Snapshot(); return err == nil }, func() string {
			return fmt.Sprintf("snapshot of slot %d: %v", s, err)
		})
	}
	// A new name never gets the id of the peer that left.
	c.start(5)
	if id := c.idOf(5); id != 5 {
		t.Fatalf("a new peer after a leave got id %d, want 5 (ids are never reused)", id)
	}
	c.waitView([]int{1, 2, 3, 5}, 15*time.Second)
	// The name that left comes back under its id (its data dir keeps it).
	c.start(4)
	if id := c.idOf(4); id != id4 {
		t.Fatalf("slot 4 came back as %d, want %d", id, id4)
	}
	c.waitView(ids(1, 5), 15*time.Second)

	// A follower restarted from its data dir restores the registry from
	// its snapshot, and leads the next registration right if it leads.
	want := c.Node(1).Registry()
	follower := 0
	for _, s := range []int{1, 2, 3} {
		if !c.Node(s).IsLeader() {
			follower = s
			break
		}
	}
	fid := c.idOf(follower)
	c.Crash(follower)
	c.waitView(except(ids(1, 5), fid), 15*time.Second)
	c.start(follower)
	c.waitView(ids(1, 5), 15*time.Second)
	testkit.WaitFor(t, 10*time.Second, func() bool { return maps.Equal(c.Node(follower).Registry(), want) }, func() string {
		return fmt.Sprintf("restarted follower's registry %v, want %v", c.Node(follower).Registry(), want)
	})
	// Crash the leader: the registry of whoever leads next gives id 6.
	var survivors []int
	for _, s := range c.Running() {
		if c.Node(s).IsLeader() {
			lid := c.idOf(s)
			c.Crash(s)
			survivors = except(ids(1, 5), lid)
			c.waitView(survivors, 20*time.Second)
			break
		}
	}
	c.start(6)
	if id := c.idOf(6); id != 6 {
		t.Fatalf("the sixth name got id %d after a leader change, want 6", id)
	}
	c.waitView(append(survivors, 6), 15*time.Second)
}

// except returns ids without id.
func except(ids []int, id int) []int {
	return slices.DeleteFunc(slices.Clone(ids), func(x int) bool { return x == id })
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
