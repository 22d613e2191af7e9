package node

import (
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
)

// TestLoneLeaderLeaves: a peer alone in its group has nobody to hand its
// leadership to and nobody to remove it; its leave does not try (it tried
// again every 10 ms until the leave's timeout, logging each try).
func TestLoneLeaderLeaves(t *testing.T) {
	p := newTestPeers(t, 2)
	out, diag := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	nd := waitLone(t, lonePeer(t, p, "info", out, diag), out)
	nd.Leave(time.Minute)
	for _, bad := range []string{"handing over", "no leadership transfer"} {
		if strings.Contains(diag.String(), bad) {
			t.Fatalf("a lone peer's leave tried to hand over (%q):\n%s", bad, diag.String())
		}
	}
}
