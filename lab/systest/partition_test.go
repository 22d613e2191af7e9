package systest

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/lab/faultnode"
	"roster/peer/fsm"
)

// TestPartitionWithTheLeaderInTheMinority cuts {1,2} (1 leads) from
// {3,4,5}: the minority must install no view, the majority must elect a
// leader and install a view without 1 and 2, and after the heal every peer
// ends in one view with all five.
func TestPartitionWithTheLeaderInTheMinority(t *testing.T) {
	c := newCluster(t, 5)
	c.Faults = func(int) (faultnode.Options, bool) { return faultnode.Options{}, true }
	c.LogLevel = os.Getenv("SYSTEST_LOG")
	before := c.startAll(5)
	if before.Leader != 1 {
		t.Fatalf("view %+v: want peer 1 to lead before the cut", before)
	}
	// {3,4,5} can only go on without 1 and 2 once all five vote.
	testkit.WaitFor(t, 15*time.Second, func() bool { return slices.Equal(c.Node(1).Voters(), ids(1, 5)) }, func() string {
		return fmt.Sprintf("voters %v, want all five", c.Node(1).Voters())
	})
	c.expect = []int{1, 2}
	for id := 1; id <= 5; id++ {
		if err := c.FaultPeer(id).Injector().SetPartition([][]int{{1, 2}, {3, 4, 5}}); err != nil {
			t.Fatal(err)
		}
	}
	cut := c.waitViewAt([]int{3, 4, 5}, []int{3, 4, 5}, 15*time.Second)
	if cut.Leader < 3 {
		t.Fatalf("majority view %+v committed by the minority", cut)
	}
	// Safety while cut off: the minority holds the view it had.
	for _, id := range []int{1, 2} {
		if v := c.Node(id).View(); v.ID != before.ID {
			t.Fatalf("peer %d moved to view %+v while in the minority", id, v)
		}
	}
	for id := 1; id <= 5; id++ {
		c.FaultPeer(id).Injector().Heal()
	}
	final := c.waitViewAt(ids(1, 5), ids(1, 5), 20*time.Second)
	if final.ID <= cut.ID {
		t.Fatalf("final view %+v is not after the majority's %+v", final, cut)
	}
	// No view the minority printed lacks the majority: it never committed one.
	for _, id := range []int{1, 2} {
		for _, in := range c.Installs() {
			if in.Peer == id && in.View.ID > before.ID && !slices.Contains(in.View.Members, 3) {
				t.Errorf("peer %d installed %+v without the majority", id, in.View)
			}
		}
	}
}

// TestPeerOneWithoutDataJoinsTheCluster restarts peer 1 (the one that
// bootstraps) without its data directory: it must join the running cluster,
// not bootstrap a second one.
func TestPeerOneWithoutDataJoinsTheCluster(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll(3)
	c.Crash(1)
	gone := c.waitView([]int{2, 3}, 15*time.Second)
	if err := c.WipeData(1); err != nil {
		t.Fatal(err)
	}
	c.start(1)
	back := c.waitViewAt(ids(1, 3), ids(1, 3), 15*time.Second)
	if back.ID <= gone.ID || back.Leader == 1 {
		t.Fatalf("view %+v after peer 1 came back without data; want a view after %d committed by 2 or 3", back, gone.ID)
	}
	// A second cluster would have its own leader 1 and its own view
	// history; the checker (at the end) finds a split as an agreement
	// violation.
	if v := c.Node(1).View(); v.ID != back.ID || v.Leader == 1 {
		t.Fatalf("peer 1 holds %+v, want the cluster's view %+v", v, back)
	}
}

// waitViewAt waits until every peer of at holds a view whose members are
// exactly members, and returns it.
func (c *cluster) waitViewAt(at, members []int, timeout time.Duration) fsm.View {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var first *fsm.View
		ok := true
		for _, id := range at {
			n := c.Node(id)
			if n == nil {
				c.t.Fatalf("peer %d is not running", id)
			}
			got := n.View()
			if !slices.Equal(got.Members, members) || (first != nil && got.ID != first.ID) {
				ok = false
				break
			}
			if first == nil {
				first = &got
			}
		}
		if ok && first != nil {
			return *first
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no view %v at peers %v within %v; views:\n%s", members, at, timeout, c.ViewLogs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
