package node

import (
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/peer/config"
)

// TestLoneLeaderLeaves: a peer alone in its group has nobody to hand its
// leadership to and nobody to remove it; its leave does not try (it tried
// again every 10 ms until the leave's timeout, logging each try).
func TestLoneLeaderLeaves(t *testing.T) {
	p := newTestPeers(t, 2)
	diag, out := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	nd, err := Start(config.Config{
		Name: "p1", Hosts: p.hf, Bind: p.subnet + ".1",
		RaftPort: 17180, GossipPort: 17181, Voters: 5, LogLevel: "info", ViewLog: out, DiagLog: diag,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nd.Close)
	waitLine(t, out, "memb_list: [1]}", "peer 1's first view")
	nd.Leave(time.Minute)
	for _, bad := range []string{"handing over", "no leadership transfer"} {
		if strings.Contains(diag.String(), bad) {
			t.Fatalf("a lone peer's leave tried to hand over (%q):\n%s", bad, diag.String())
		}
	}
}
