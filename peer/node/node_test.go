package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"roster/internal/testkit"
	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/hostsfile"
)

// startPeers starts peers 1..n of a hostsfile on a random 127.X.Y.0/24,
// each once the previous one printed its first view, with their state in
// memory, and returns their view logs. They stop when the test ends.
func startPeers(t *testing.T, n int) ([]*testkit.SyncBuffer, []*Node) {
	t.Helper()
	p := newTestPeers(t, n)
	for i := 1; i <= n; i++ {
		p.start(i)
	}
	return p.logs, p.nodes
}

// testPeers is a hostsfile of n peers on a random loopback subnet, started
// one at a time by start.
type testPeers struct {
	t      *testing.T
	subnet string
	hf     *hostsfile.File
	logs   []*testkit.SyncBuffer
	nodes  []*Node
}

// newTestPeers writes the hostsfile of n peers; none is started.
func newTestPeers(t *testing.T, n int) *testPeers {
	t.Helper()
	subnet := fmt.Sprintf("127.%d.%d", 20+rand.IntN(200), 1+rand.IntN(250))
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("p%d %s.%d", i, subnet, i))
	}
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hf, err := hostsfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &testPeers{t: t, subnet: subnet, hf: hf}
}

// start starts peer i (the next one: peers start in order) and waits for
// its first view, which holds peers 1..i.
func (p *testPeers) start(i int) {
	t := p.t
	t.Helper()
	out := &testkit.SyncBuffer{}
	p.logs = append(p.logs, out)
	nd, err := Start(config.Config{
		Name: fmt.Sprintf("p%d", i), Hosts: p.hf, Bind: fmt.Sprintf("%s.%d", p.subnet, i),
		RaftPort: 17180, GossipPort: 17181, Voters: 5, LogLevel: "off", ViewLog: out, DiagLog: os.Stderr,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nd.Close)
	p.nodes = append(p.nodes, nd)
	waitLine(t, out, fmt.Sprintf("memb_list: [%s]}", ids(i)), "peer %d's first view", i)
}

// ids returns "1,2,...,n".
func ids(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(i + 1)
	}
	return strings.Join(s, ",")
}

// waitLine waits (at most 20 s) until out holds a line containing want.
func waitLine(t *testing.T, out *testkit.SyncBuffer, want string, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no line with %q in\n%s", fmt.Sprintf(what, args...), want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFollowersLearnACommitAtOnce: the leader announces each view's commit
// with a barrier, so followers install it without waiting for Raft's
// CommitTimeout (a minute here). View 4 is followed by no other entry (four
// members keep three voters): without the barrier, peers 2 and 3 would
// print it only a minute later.
func TestFollowersLearnACommitAtOnce(t *testing.T) {
	tuneRaft = func(rc *raft.Config) { rc.CommitTimeout = time.Minute }
	t.Cleanup(func() { tuneRaft = nil })
	logs, _ := startPeers(t, 4)
	for _, i := range []int{1, 2} {
		waitLine(t, logs[i], "memb_list: [1,2,3,4]}", "peer %d, view [1,2,3,4]", i+1)
	}
}

// TestJoinerFromASnapshot: with the log compacted away, a joiner gets the
// leader's snapshot, then the entry that admits it, and prints that view
// first (and no view of the snapshot, which does not hold it).
func TestJoinerFromASnapshot(t *testing.T) {
	tuneRaft = func(rc *raft.Config) {
		rc.SnapshotThreshold = 1
		rc.TrailingLogs = 0
		rc.SnapshotInterval = 20 * time.Millisecond
	}
	t.Cleanup(func() { tuneRaft = nil })
	p := newTestPeers(t, 4)
	for i := 1; i <= 3; i++ {
		p.start(i)
	}
	// The leader's log is compacted away (TrailingLogs 0) before 4 starts: 4
	// can only catch up from a snapshot. Raft takes no snapshot while the
	// latest configuration entry lies past the FSM's last command (peer 3's
	// promotion ends the log here), so a command goes first; the snapshot is
	// asked for, not left to SnapshotInterval's timer.
	leader := p.nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := leader.Groups().Join(ctx, "g", api.JoinRequest{Client: "c1", Addr: "127.0.0.1:1"}, api.Origin{}); err != nil {
		t.Fatalf("join through the leader: %v", err)
	}
	testkit.WaitFor(t, 10*time.Second, func() bool {
		err := leader.raft.Snapshot().Error()
		return err == nil || errors.Is(err, raft.ErrNothingNewToSnapshot)
	}, func() string { return fmt.Sprintf("no snapshot at the leader: %v", leader.raft.Stats()) })
	p.start(4)
	logs, nodes := p.logs, p.nodes
	if s := nodes[3].raft.Stats()["last_snapshot_index"]; s == "0" {
		t.Fatalf("peer 4 got no snapshot: %v", nodes[3].raft.Stats())
	}
	want := "{peer_id:4, view_id: 0, leader: 0, message:\"joining\"}\n{peer_id:4, view_id: 4, leader: 1, memb_list: [1,2,3,4]}\n"
	if got := logs[3].String(); !strings.HasPrefix(got, want) {
		t.Fatalf("peer 4 printed\n%swant first\n%s", got, want)
	}
}

// TestFollowersLearnAGroupCommitAtOnce: the groups' batcher follows its
// commits with a barrier (groups/service/nudge.go), so a follower serves a
// join without waiting for Raft's CommitTimeout (a minute here).
func TestFollowersLearnAGroupCommitAtOnce(t *testing.T) {
	tuneRaft = func(rc *raft.Config) { rc.CommitTimeout = time.Minute }
	t.Cleanup(func() { tuneRaft = nil })
	_, nodes := startPeers(t, 3)
	leader := nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	join := api.JoinRequest{Client: "c1", Addr: "127.0.0.1:1"}
	if _, err := leader.Groups().Join(ctx, "g", join, api.Origin{}); err != nil {
		t.Fatalf("join through the leader: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes[1:] {
		for {
			g, err := n.Groups().Group(ctx, "g", api.ReadQuery{}, api.Origin{})
			if err == nil && len(g.Members) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("peer %d does not serve the join 10 s after its commit: %+v, %v", n.cfg.Self.ID, g, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
