package systest

import (
	"os"
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
// 4 leaves gracefully, leader 1 (-t) crashes on committing its removal, and
// 5 crashes right after: three of five voters go at once. The leaver stays
// until it no longer votes and the new leader takes it out of the voters
// last, so 2 and 3 go on by themselves to [2,3]; then 4's new life joins
// them. The checker judges the logs at the end.
func TestLeaveMeetsALeaderCrash(t *testing.T) {
	c := newCluster(t, 5)
	c.Faults = func(id int) (faultnode.Options, bool) { return faultnode.Options{LeaderCrash: true}, id == 1 }
	if l := os.Getenv("SYSTEST_LOG"); l != "" {
		c.LogLevel = l // diagnostics on stderr
	}
	withoutDataDir(c, 4)
	c.startAll(5)
	c.waitVoters(ids(1, 5), ids(1, 5), 15*time.Second)
	// The scenario needs 1 to lead when 4 leaves; on a loaded machine
	// leadership may have moved during the start-up.
	testkit.Eventually(t, 15*time.Second, "peer 1 to lead", func() bool { return c.Node(1).IsLeader() })
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
	if v := c.waitViewAt([]int{2, 3}, []int{2, 3}, 20*time.Second); v.Leader != 2 && v.Leader != 3 {
		t.Fatalf("view %+v, want [2,3] by leader 2 or 3", v)
	}
	<-left
	c.start(4)
	c.waitViewAt([]int{2, 3, 4}, []int{2, 3, 4}, 20*time.Second)
}
