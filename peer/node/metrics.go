package node

import (
	"github.com/hashicorp/go-hclog"

	"roster/peer/metrics"
)

// newMetrics returns a peer's metrics, with the process's library metrics
// (memberlist, Raft) installed; a sink that cannot be installed is logged,
// and the peer runs on with its own metrics.
func newMetrics(logger hclog.Logger) *metrics.Peer {
	if _, err := metrics.Library(); err != nil {
		logger.Warn("library metrics unavailable", "error", err)
	}
	return metrics.NewPeer()
}

// Metrics returns the peer's metrics.
func (n *Node) Metrics() *metrics.Peer { return n.metrics }
