package node

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// stores are where Raft keeps its log, its vote and its snapshots.
type stores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	closer io.Closer // nil when nothing needs closing
}

// openStores opens Raft's stores: raft-boltdb and snapshot files under
// dataDir, or, when dataDir is "" (the default), memory. A peer without a
// data directory never reads its state again once its process ends (a
// restart is a new life, admitted afresh and sent the history by the
// leader), so the disk would only cost it: a file, a flush on every append,
// the time to open them on the way to its first view, and the memory that
// bolt maps.
func openStores(dataDir string, n *Node) (stores, error) {
	if dataDir == "" {
		mem := raft.NewInmemStore()
		return stores{logs: mem, stable: mem, snaps: raft.NewInmemSnapshotStore()}, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return stores{}, fmt.Errorf("data dir: %w", err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dataDir, "raft.db")})
	if err != nil {
		return stores{}, fmt.Errorf("raft store in %s: %w", dataDir, err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dataDir, 2, n.log.Named("snapshots"))
	if err != nil {
		bolt.Close()
		return stores{}, fmt.Errorf("raft snapshots in %s: %w", dataDir, err)
	}
	return stores{logs: bolt, stable: bolt, snaps: snaps, closer: bolt}, nil
}

// Raft compacts its log into a snapshot every logCompaction entries and
// keeps as many entries behind it for followers that lag. The log lives in
// memory without --data-dir and the view is a few bytes: compact often
// (Raft's defaults, 8192 and 10240 entries, would keep up to 18 000 entries,
// a few MB, after a long run with churn; a joiner then gets the snapshot
// instead of the whole log).
const logCompaction = 1024

// compactSooner sets Raft's log compaction for a peer's small state.
func compactSooner(rc *raft.Config) {
	rc.SnapshotThreshold = logCompaction
	rc.TrailingLogs = logCompaction
}
