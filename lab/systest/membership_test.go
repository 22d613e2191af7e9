package systest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/peer/config"
	"roster/peer/fsm"
	"roster/peer/reconcile"
)

func TestJoins(t *testing.T) {
	c := newCluster(t, 5)
	v := c.startAll(5)
	if v.Lives = nil; !v.Equal(fsm.View{ID: 5, Leader: 1, Members: ids(1, 5)}) {
		t.Fatalf("final view %+v, want view 5 [1..5] by leader 1", v)
	}
	// Every peer's first line is the view that added it, then each later one.
	for id := 1; id <= 5; id++ {
		want := fmt.Sprintf("{peer_id:%d, view_id: 0, leader: 0, message:\"joining\"}\n", id)
		for vid := id; vid <= 5; vid++ {
			want += fmt.Sprintf("{peer_id:%d, view_id: %d, leader: 1, memb_list: [%s]}\n", id, vid, joinInts(ids(1, vid)))
		}
		testkit.WaitFor(t, 5*time.Second, func() bool { return c.ViewLog(id) == want }, func() string {
			return fmt.Sprintf("peer %d printed\n%s\nwant\n%s", id, c.ViewLog(id), want)
		})
	}
}

func TestOneCrash(t *testing.T) {
	c := newCluster(t, 5)
	c.startAll(5)
	c.Crash(5)
	v := c.waitView(ids(1, 4), 10*time.Second)
	if v.ID != 6 || v.Leader != 1 {
		t.Fatalf("view after the crash %+v, want view 6 by leader 1", v)
	}
	if !strings.Contains(c.ViewLog(5), `message:"crashing"`) {
		t.Fatalf("peer 5 did not print crashing:\n%s", c.ViewLog(5))
	}
}

// TestCrashesDownToOne crashes 5, 4, 3 and 2 in turn, each once the group
// has settled: the view without the last one committed and the voters back
// to the odd-voter policy's set. A crash before the voters settle is
// another scenario: with [1,2] both still voting, a crash of 2 leaves 1 no
// majority (README: the cost of the odd-voter policy).
func TestCrashesDownToOne(t *testing.T) {
	c := newCluster(t, 5)
	c.startAll(5)
	for n := 4; n >= 1; n-- {
		want := reconcile.Voters(ids(1, n+1), 1, config.DefaultVoters)
		testkit.WaitFor(t, 10*time.Second, func() bool { return slices.Equal(c.Node(1).Voters(), want) }, func() string {
			return fmt.Sprintf("voters %v, want %v", c.Node(1).Voters(), want)
		})
		c.Crash(n + 1)
		c.waitView(ids(1, n), 10*time.Second)
	}
	if v := c.Node(1).View(); v.ID != 9 || v.Leader != 1 || !slices.Equal(v.Members, []int{1}) {
		t.Fatalf("final view %+v, want view 9 [1]", v)
	}
}

func TestLeaderCrash(t *testing.T) {
	c := newCluster(t, 5)
	c.startAll(5)
	c.Crash(1)
	v := c.waitView(ids(2, 5), 15*time.Second)
	if v.ID != 6 || v.Leader == 1 {
		t.Fatalf("view after the leader crash %+v, want view 6 by a new leader", v)
	}
	if !c.Node(v.Leader).IsLeader() {
		t.Fatalf("view committed by %d, which does not lead", v.Leader)
	}
}

func TestRestartWithDataDirRejoins(t *testing.T) {
	c := newCluster(t, 4)
	c.startAll(4)
	c.Crash(3)
	c.waitView([]int{1, 2, 4}, 10*time.Second)
	c.start(3) // same data directory
	v := c.waitView(ids(1, 4), 15*time.Second)
	if v.ID != 6 {
		t.Fatalf("view after the restart %+v, want view 6", v)
	}
	// The restarted peer does not print its history again: view 3 (which
	// added it), 4, then 6 which re-added it.
	want := "{peer_id:3, view_id: 0, leader: 0, message:\"joining\"}\n" +
		"{peer_id:3, view_id: 3, leader: 1, memb_list: [1,2,3]}\n" +
		"{peer_id:3, view_id: 4, leader: 1, memb_list: [1,2,3,4]}\n" +
		"{peer_id:3, view_id: 4, leader: 1, message:\"crashing\"}\n" +
		"{peer_id:3, view_id: 0, leader: 0, message:\"joining\"}\n" +
		"{peer_id:3, view_id: 6, leader: 1, memb_list: [1,2,3,4]}\n"
	testkit.WaitFor(t, 5*time.Second, func() bool { return c.ViewLog(3) == want }, func() string {
		return "peer 3 printed\n" + c.ViewLog(3) + "want\n" + want
	})
}

func TestGracefulLeave(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll(3)
	start := time.Now()
	c.Leave(2)
	c.waitView([]int{1, 3}, 5*time.Second)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("graceful leave took %v to show in the view", d)
	}
	if strings.Contains(c.ViewLogs(), "unreachable") {
		t.Errorf("a graceful leave was reported as unreachable:\n%s", c.ViewLogs())
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
