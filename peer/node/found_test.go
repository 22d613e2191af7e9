package node

import (
	"fmt"
	"strings"
	"testing"

	"roster/internal/testkit"
	"roster/peer/config"
)

// lonePeer starts peer 1 of p, logging its diagnostics at level into diag,
// and delivers it once Start returned (nil, with a failed test, if it could
// not start). Start runs in the background: it may wait for other peers.
// The peer is closed at the test's end.
func lonePeer(t *testing.T, p *testPeers, level string, out, diag *testkit.SyncBuffer) <-chan *Node {
	started := make(chan *Node, 1)
	done := make(chan *Node, 1)
	go func() {
		nd, err := Start(config.Config{
			Name: "p1", Hosts: p.hf, Bind: p.subnet + ".1",
			RaftPort: 17180, GossipPort: 17181, Voters: 5, LogLevel: level, ViewLog: out, DiagLog: diag,
		}, Options{})
		if err != nil {
			t.Error(err)
		}
		done <- nd
		started <- nd
	}()
	t.Cleanup(func() {
		if nd := <-done; nd != nil {
			nd.Close()
		}
	})
	return started
}

// waitLone waits for lonePeer's node and its first view, [1].
func waitLone(t *testing.T, started <-chan *Node, out *testkit.SyncBuffer) *Node {
	t.Helper()
	nd := <-started
	if nd == nil {
		t.FailNow()
	}
	waitLine(t, out, "memb_list: [1]}", "peer 1's first view")
	return nd
}

// TestPeerOneWaitsForASlowPeer: peer 1 without state founds a cluster only
// once nobody who might be in one is around. A process that takes the
// connection at peer 2's gossip address but never answers (a member of a
// cluster on a starved machine looks like that) makes it ask again rather
// than found; once nothing listens there (connections refused), it founds.
func TestPeerOneWaitsForASlowPeer(t *testing.T) {
	p := newTestPeers(t, 2)
	stall := testkit.StallingListener(t, fmt.Sprintf("%s.2:17181", p.subnet))
	out, diag := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	started := lonePeer(t, p, "info", out, diag)
	waitLine(t, diag, "try=2", "peer 1 asking the slow peer again")
	if strings.Contains(out.String(), "memb_list") {
		t.Fatalf("peer 1 founded a cluster while a peer had not answered:\n%s", out.String())
	}
	stall() // nothing listens there any more: peer 2 is not running
	waitLone(t, started, out)
}

// TestFounderElectsAtOnce: the founder's early election goes through Raft's
// checks of a reloaded configuration (it was once refused, and the founder
// waited for its heartbeat timeout), and leaves the timeouts as they were.
func TestFounderElectsAtOnce(t *testing.T) {
	p := newTestPeers(t, 1)
	out, diag := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	nd := waitLone(t, lonePeer(t, p, "debug", out, diag), out)
	if strings.Contains(diag.String(), "no early election") {
		t.Fatalf("the early election was refused:\n%s", diag.String())
	}
	want := raftConfig(1, nil)
	if got := nd.raft.ReloadableConfig(); got.HeartbeatTimeout != want.HeartbeatTimeout || got.ElectionTimeout != want.ElectionTimeout {
		t.Fatalf("timeouts after the early election: heartbeat %v, election %v; want %v, %v",
			got.HeartbeatTimeout, got.ElectionTimeout, want.HeartbeatTimeout, want.ElectionTimeout)
	}
}
