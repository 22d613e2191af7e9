package node

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// stores are where Raft keeps its log, its vote and its snapshots.
type stores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	closer io.Closer // nil when nothing needs closing
	// watched is logs and stable on a data dir, reporting its write
	// failures (nil in memory).
	watched *watchedStore
}

// openStores opens Raft's stores: raft-boltdb and snapshot files under
// dataDir, or, when dataDir is "" (the default), memory. A peer without a
// data directory never reads its state again once its process ends (a
// restart is a new life, admitted afresh and sent the history by the
// leader), so the disk would only cost it: a file, a flush on every append,
// the time to open them on the way to its first view, and the memory that
// bolt maps. On disk, raft.db is checked first (checkStore), and the
// stores report failing writes to n.faults. Errors are *StoreError, but for
// a data dir that cannot be made.
func openStores(dataDir string, n *Node) (stores, error) {
	if dataDir == "" {
		mem := raft.NewInmemStore()
		return stores{logs: mem, stable: mem, snaps: raft.NewInmemSnapshotStore()}, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return stores{}, fmt.Errorf("data dir: %w", err)
	}
	if err := checkStore(dataDir); err != nil {
		return stores{}, err
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dataDir, storeFile),
		BoltOptions: &bbolt.Options{Timeout: lockTimeout},
	})
	if err != nil {
		return stores{}, &StoreError{Dir: dataDir, File: storeFile, Err: err}
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dataDir, 2, n.log.Named("snapshots"))
	if err != nil {
		bolt.Close()
		return stores{}, &StoreError{Dir: dataDir, File: "snapshots", Err: err}
	}
	w := &watchedStore{raftStore: bolt, faults: n.faults, stop: make(chan struct{})}
	return stores{logs: w, stable: w, snaps: watchedSnapshots{SnapshotStore: snaps, faults: n.faults}, closer: bolt, watched: w}, nil
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
