package node

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"roster/internal/testkit"
	"roster/peer/config"
)

// TestPeerOneWaitsForASlowPeer: peer 1 without state founds a cluster only
// once nobody who might be in one is around. A process that takes the
// connection at peer 2's gossip address but never answers (a member of a
// cluster on a starved machine looks like that) makes it ask again rather
// than found; once nothing listens there (connections refused), it founds.
func TestPeerOneWaitsForASlowPeer(t *testing.T) {
	p := newTestPeers(t, 2)
	ln, err := net.Listen("tcp", fmt.Sprintf("%s.2:17181", p.subnet))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // taken, never answered
			mu.Unlock()
		}
	}()
	stall := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}
	t.Cleanup(stall)

	out, diag := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	started := make(chan *Node, 1)
	go func() {
		nd, err := Start(config.Config{
			Name: "p1", Hosts: p.hf, Bind: p.subnet + ".1",
			RaftPort: 17180, GossipPort: 17181, Voters: 5, LogLevel: "info", ViewLog: out, DiagLog: diag,
		}, Options{})
		if err != nil {
			t.Error(err)
		}
		started <- nd
	}()
	waitLine(t, diag, "try=2", "peer 1 asking the slow peer again")
	if strings.Contains(out.String(), "memb_list") {
		t.Fatalf("peer 1 founded a cluster while a peer had not answered:\n%s", out.String())
	}
	stall() // nothing listens there any more: peer 2 is not running
	nd := <-started
	if nd == nil {
		t.FailNow()
	}
	t.Cleanup(nd.Close)
	waitLine(t, out, "memb_list: [1]}", "peer 1's first view")
	if testing.Verbose() {
		os.Stderr.WriteString(diag.String())
	}
}

// TestFounderElectsAtOnce: the founder's early election goes through Raft's
// checks of a reloaded configuration (it was once refused, and the founder
// waited for its heartbeat timeout), and leaves the timeouts as they were.
func TestFounderElectsAtOnce(t *testing.T) {
	p := newTestPeers(t, 1)
	diag := &testkit.SyncBuffer{}
	out := &testkit.SyncBuffer{}
	nd, err := Start(config.Config{
		Name: "p1", Hosts: p.hf, Bind: p.subnet + ".1",
		RaftPort: 17180, GossipPort: 17181, Voters: 5, LogLevel: "debug", ViewLog: out, DiagLog: diag,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nd.Close)
	waitLine(t, out, "memb_list: [1]}", "peer 1's first view")
	if strings.Contains(diag.String(), "no early election") {
		t.Fatalf("the early election was refused:\n%s", diag.String())
	}
	want := raftConfig(1, nil)
	if got := nd.raft.ReloadableConfig(); got.HeartbeatTimeout != want.HeartbeatTimeout || got.ElectionTimeout != want.ElectionTimeout {
		t.Fatalf("timeouts after the early election: heartbeat %v, election %v; want %v, %v",
			got.HeartbeatTimeout, got.ElectionTimeout, want.HeartbeatTimeout, want.ElectionTimeout)
	}
}
