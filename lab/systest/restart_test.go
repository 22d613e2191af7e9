package systest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/peer/config"
	"roster/peer/viewlog"
)

// withoutDataDir makes peer id run as test cases 1-4 do: in a temporary data
// directory removed when it stops.
func withoutDataDir(c *cluster, id int) {
	c.Configure = func(i int, cfg *config.Config) {
		if i == id {
			cfg.DataDir = ""
		}
	}
}

// linesOf returns peer id's view lines after the first n.
func linesOf(c *cluster, id, skip int) []string {
	lines := strings.Split(strings.TrimSuffix(c.ViewLog(id), "\n"), "\n")
	if skip > len(lines) {
		return nil
	}
	return lines[skip:]
}

// assertNewLife checks what peer id printed since its restart (its lines
// after the first skip): "joining", then views from the one that re-added
// it (readmit) on, none older.
func assertNewLife(t *testing.T, c *cluster, id, skip int, readmit uint64) {
	t.Helper()
	lines := linesOf(c, id, skip)
	joining := viewlog.FormatMessage(id, 0, 0, viewlog.Joining)
	if len(lines) < 2 || lines[0] != joining {
		t.Fatalf("peer %d printed since its restart:\n%s\nwant %q first, then its views", id, strings.Join(lines, "\n"), joining)
	}
	first := fmt.Sprintf("{peer_id:%d, view_id: %d, ", id, readmit)
	if !strings.HasPrefix(lines[1], first) {
		t.Fatalf("peer %d's first view after its restart: %q, want view %d (the one re-adding it)", id, lines[1], readmit)
	}
}

// TestRestartWithoutDataDirPrintsOnlyItsNewLife: a peer that crashed and
// restarts without its data (Raft sends it the whole history) prints no
// view older than the one that re-adds it.
func TestRestartWithoutDataDirPrintsOnlyItsNewLife(t *testing.T) {
	c := newCluster(t, 4)
	withoutDataDir(c, 3)
	c.startAll(4)
	c.Crash(3)
	c.waitView([]int{1, 2, 4}, 10*time.Second)
	before := len(linesOf(c, 3, 0))
	c.start(3)
	v := c.waitView(ids(1, 4), 15*time.Second)
	if v.ID != 6 || !v.HasLife(3, c.Node(3).Life()) {
		t.Fatalf("view after the restart %+v, want view 6 holding peer 3's new life %d", v, c.Node(3).Life())
	}
	testkit.WaitFor(t, 5*time.Second, func() bool { return len(linesOf(c, 3, before)) >= 2 }, func() string { return c.ViewLog(3) })
	assertNewLife(t, c, 3, before, 6)
}

// TestGracefulRestartWithoutDataDir is `docker restart` of a peer of test
// cases 1-4: it leaves gracefully (its temporary data directory goes), and
// starts again at once.
func TestGracefulRestartWithoutDataDir(t *testing.T) {
	c := newCluster(t, 4)
	withoutDataDir(c, 2)
	c.startAll(4)
	c.Leave(2)
	before := len(linesOf(c, 2, 0))
	c.start(2)
	v := c.waitView(ids(1, 4), 15*time.Second)
	if !v.HasLife(2, c.Node(2).Life()) {
		t.Fatalf("view %+v does not hold peer 2's new life %d", v, c.Node(2).Life())
	}
	// The leave was committed (view 5 [1,3,4]) before the restart, or not:
	// either way peer 2's new life starts at the view that re-added it.
	testkit.WaitFor(t, 5*time.Second, func() bool { return len(linesOf(c, 2, before)) >= 2 }, func() string { return c.ViewLog(2) })
	readmit := uint64(0)
	for _, in := range c.Installs() {
		if in.Peer == 2 && in.View.HasLife(2, c.Node(2).Life()) {
			readmit = in.View.ID
			break
		}
	}
	if readmit <= 4 {
		t.Fatalf("peer 2's new life starts at view %d, want after view 4", readmit)
	}
	assertNewLife(t, c, 2, before, readmit)
}

// TestQuickRestartIsANewLife: a peer killed and started again before
// failure detection noticed (its old life still in the view) is removed and
// re-added, and prints only the re-adding view on.
func TestQuickRestartIsANewLife(t *testing.T) {
	c := newCluster(t, 4)
	withoutDataDir(c, 4)
	c.startAll(4)
	old := c.Node(4).Life()
	c.Crash(4)
	before := len(linesOf(c, 4, 0))
	c.start(4)
	testkit.WaitFor(t, 15*time.Second, func() bool {
		n := c.Node(1)
		return n != nil && n.View().HasLife(4, c.Node(4).Life())
	}, func() string {
		return fmt.Sprintf("peer 1 holds %+v, want peer 4's new life %d (old %d)", c.Node(1).View(), c.Node(4).Life(), old)
	})
	v := c.waitView(ids(1, 4), 15*time.Second)
	if v.ID < 6 {
		t.Fatalf("view %+v: want the old life removed (view 5) and the new one admitted (view 6)", v)
	}
	testkit.WaitFor(t, 5*time.Second, func() bool { return len(linesOf(c, 4, before)) >= 2 }, func() string { return c.ViewLog(4) })
	assertNewLife(t, c, 4, before, v.ID)
}

// restartGap is how long `docker restart` keeps a peer down between its
// graceful leave and its new start (0.7-1.4 s measured): the others' direct
// checks of its previous life are still running when the new life joins.
const restartGap = 700 * time.Millisecond

// checkSpan bounds a direct check of a peer that went silent: three rounds
// of 300 ms (peer/detector), with room for a loaded machine.
const checkSpan = 3 * time.Second

// TestLeaderGracefulRestart is `docker restart` of the leader: it hands
// over leadership, leaves, and starts again restartGap later without its
// state. The checks the others started when it stopped answering must not
// be taken for a verdict on its new life: no live peer is removed.
func TestLeaderGracefulRestart(t *testing.T) {
	c := newCluster(t, 4)
	withoutDataDir(c, 1)
	c.startAll(4)
	c.Leave(1)
	before := len(linesOf(c, 1, 0))
	time.Sleep(restartGap) // the scenario: peer 1 is down this long
	c.start(1)
	restarted := time.Now()
	life := c.Node(1).Life()
	testkit.WaitFor(t, 15*time.Second, func() bool {
		n := c.Node(2)
		return n != nil && n.View().HasLife(1, life)
	}, func() string {
		return fmt.Sprintf("peer 2 holds %+v, want peer 1's new life %d", c.Node(2).View(), life)
	})
	v := c.waitView(ids(1, 4), 15*time.Second)
	testkit.WaitFor(t, 5*time.Second, func() bool { return len(linesOf(c, 1, before)) >= 2 }, func() string { return c.ViewLog(1) })
	readmit := uint64(0)
	for _, in := range c.Installs() {
		if in.Peer == 1 && in.View.HasLife(1, life) {
			readmit = in.View.ID
			break
		}
	}
	assertNewLife(t, c, 1, before, readmit)
	// Every check of the previous life has ended checkSpan after the
	// restart; a verdict taken for the new life would have removed it.
	for time.Since(restarted) < checkSpan {
		for _, id := range c.Running() {
			if n := c.Node(id); n != nil && !n.View().HasLife(1, life) {
				t.Fatalf("peer %d holds %+v after peer 1's restart: its new life (%d) was removed\n%s", id, n.View(), life, c.ViewLogs())
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w := c.waitView(ids(1, 4), 15*time.Second); w.ID != v.ID {
		t.Fatalf("the view moved from %d to %d after the restart settled:\n%s", v.ID, w.ID, c.ViewLogs())
	}
}

// TestVoterOfTwoLeaves: in a two-member group the leader is the only voter.
// When it leaves gracefully (docker stop, or the first half of a docker
// restart) it hands its vote over first, so the other member removes it
// and goes on: it re-admits the leaver's next life.
func TestVoterOfTwoLeaves(t *testing.T) {
	c := newCluster(t, 2)
	withoutDataDir(c, 1)
	c.startAll(2)
	c.Leave(1)
	v := c.waitView([]int{2}, 10*time.Second)
	if v.Leader != 1 && v.Leader != 2 {
		t.Fatalf("view %+v", v)
	}
	c.start(1)
	c.waitView([]int{1, 2}, 10*time.Second)
}
