package systest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/lab/faultnode"
	"roster/peer/fsm"
)

// Test case 4: leader 1 runs with -t; when 5 crashes, 1 commits its removal
// with the replication to 2 dropped and crashes before telling anyone. The
// new leader (3 or 4: 2 lacks the entry, so Raft's election rule excludes
// it) completes the removal and removes 1.
func TestLeaderCrashWithMessageLoss(t *testing.T) {
	c := newCluster(t, 5)
	c.Faults = func(id int) (faultnode.Options, bool) { return faultnode.Options{LeaderCrash: true}, id == 1 }
	c.startAll(5)
	one := c.FaultPeer(1)
	c.Crash(5)
	select {
	case <-one.Crashed():
	case <-time.After(10 * time.Second):
		t.Fatalf("leader 1 did not crash after removing 5")
	}
	c.Crash(1) // already stopped: forget it
	v := c.waitView([]int{2, 3, 4}, 15*time.Second)
	if v.ID != 7 || (v.Leader != 3 && v.Leader != 4) {
		t.Fatalf("final view %+v, want view 7 [2,3,4] by leader 3 or 4", v)
	}
	want6 := fsm.View{ID: 6, Leader: 1, Members: []int{1, 2, 3, 4}}
	for id := 2; id <= 4; id++ {
		log := c.ViewLog(id)
		if !strings.Contains(log, "{peer_id:"+string(rune('0'+id))+", view_id: 6, leader: 1, memb_list: [1,2,3,4]}") {
			t.Errorf("peer %d did not install %+v:\n%s", id, want6, log)
		}
	}
	if l := c.ViewLog(1); strings.Contains(l, "view_id: 6, leader: 1, memb_list") || !strings.Contains(l, `message:"crashing"`) {
		t.Errorf("peer 1 printed view 6 or did not print crashing:\n%s", l)
	}
}

// TestLeaveMeetsALeaderCrash is test case 4 with a `docker restart` of 4:
// 4 leaves gracefully, leader 1 (-t) crashes on committing its removal, 5
// crashes right after, and 4 comes back as a new life. Three of five voters
// are down at once for a while; the group must end in [2,3,4] at 2, 3 and 4
// and print every view of the new life only (the checker judges it at the
// end).
func TestLeaveMeetsALeaderCrash(t *testing.T) {
	c := newCluster(t, 5)
	c.Faults = func(id int) (faultnode.Options, bool) { return faultnode.Options{LeaderCrash: true}, id == 1 }
	if l := os.Getenv("SYSTEST_LOG"); l != "" {
		c.LogLevel = l // diagnostics on stderr
	}
	withoutDataDir(c, 4)
	c.startAll(5)
	testkit.WaitFor(t, 15*time.Second, func() bool { return slices.Equal(c.Node(1).Voters(), ids(1, 5)) }, func() string {
		return fmt.Sprintf("voters %v, want all five", c.Node(1).Voters())
	})
	one := c.FaultPeer(1)
	left := make(chan struct{})
	go func() {
		defer close(left)
		c.Leave(4)
	}()
	select {
	case <-one.Crashed():
	case <-time.After(10 * time.Second):
		t.Fatalf("leader 1 did not crash on removing 4")
	}
	c.Crash(1) // already stopped: forget it
	c.Crash(5)
	<-left
	c.start(4)
	v := c.waitViewAt([]int{2, 3, 4}, []int{2, 3, 4}, 30*time.Second)
	if v.Leader == 1 || v.Leader == 5 {
		t.Fatalf("final view %+v, want [2,3,4] by a survivor", v)
	}
}
