//go:build profile

package node

import (
	"os"
	"time"

	"github.com/hashicorp/raft"
)

// With -tags profile, ROSTER_RAFT_HEARTBEAT and ROSTER_RAFT_COMMIT (Go
// durations) override Raft's heartbeat timeout (the election and lease
// timeouts follow it) and commit timeout, to compare their idle costs. For
// measuring only: a normal build has none of this.
func init() {
	hb, _ := time.ParseDuration(os.Getenv("ROSTER_RAFT_HEARTBEAT"))
	ct, _ := time.ParseDuration(os.Getenv("ROSTER_RAFT_COMMIT"))
	if hb <= 0 && ct <= 0 {
		return
	}
	tuneRaft = func(rc *raft.Config) {
		if hb > 0 {
			rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = hb, hb, hb
		}
		if ct > 0 {
			rc.CommitTimeout = ct
		}
	}
}
