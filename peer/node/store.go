package node

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"roster/peer/fsm"
)

// Storage operations, as diskFaults names them.
const (
	opAppend   = "writing the raft log"
	opStable   = "writing raft state (term, vote)"
	opSnapshot = "writing a raft snapshot"
	opMarker   = "writing the printed-view file"
)

// keyCurrentTerm is the stable-store key of Raft's current term.
var keyCurrentTerm = []byte("CurrentTerm")

// termRetry is how often a failing write of the current term is retried.
const termRetry = 500 * time.Millisecond

// raftStore is what Raft keeps its log and state in (raft-boltdb).
type raftStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// watchedStore is the raft-boltdb store, reporting every failing and
// succeeding write to diskFaults. Safe for concurrent use.
//
// Raft panics when it cannot persist a new term. Once Raft runs (after
// running is set) such a write is retried until it succeeds, stalling
// Raft's main goroutine (the peer stops taking part, says so, and is not
// ready) instead of crashing the process; when the peer stops while the
// write still fails, the stalled goroutine ends with runtime.Goexit, which
// runs its deferred calls as a return would.
type watchedStore struct {
	raftStore
	faults  *diskFaults
	running atomic.Bool
	stop    chan struct{} // closed when the peer stops
}

func (w *watchedStore) report(op string, err error) error {
	if err != nil {
		w.faults.fail(op, err)
	} else {
		w.faults.ok(op)
	}
	return err
}

// StoreLog stores one log entry.
func (w *watchedStore) StoreLog(l *raft.Log) error {
	return w.report(opAppend, w.raftStore.StoreLog(l))
}

// StoreLogs stores log entries.
func (w *watchedStore) StoreLogs(ls []*raft.Log) error {
	return w.report(opAppend, w.raftStore.StoreLogs(ls))
}

// DeleteRange deletes log entries (compaction, conflicts).
func (w *watchedStore) DeleteRange(lo, hi uint64) error {
	return w.report(opAppend, w.raftStore.DeleteRange(lo, hi))
}

// Set stores a stable-store value (the vote).
func (w *watchedStore) Set(k, v []byte) error {
	return w.report(opStable, w.raftStore.Set(k, v))
}

// SetUint64 stores a stable-store number (term, last vote term); see the
// type's comment for the current term.
func (w *watchedStore) SetUint64(k []byte, v uint64) error {
	err := w.raftStore.SetUint64(k, v)
	if err == nil || !w.running.Load() || !bytes.Equal(k, keyCurrentTerm) {
		return w.report(opStable, err)
	}
	for err != nil {
		w.faults.fail(opStable, err)
		select {
		case <-w.stop:
			runtime.Goexit()
		case <-time.After(termRetry):
		}
		err = w.raftStore.SetUint64(k, v)
	}
	return w.report(opStable, nil)
}

// watchedSnapshots is Raft's snapshot store, reporting failures to
// diskFaults. Safe for concurrent use.
type watchedSnapshots struct {
	raft.SnapshotStore
	faults *diskFaults
}

// Create starts a snapshot.
func (w watchedSnapshots) Create(v raft.SnapshotVersion, index, term uint64, c raft.Configuration, ci uint64, t raft.Transport) (raft.SnapshotSink, error) {
	s, err := w.SnapshotStore.Create(v, index, term, c, ci, t)
	if err != nil {
		w.faults.fail(opSnapshot, err)
		return nil, err
	}
	return &watchedSink{SnapshotSink: s, faults: w.faults}, nil
}

// watchedSink is one snapshot being written; Raft uses it from one goroutine.
type watchedSink struct {
	raft.SnapshotSink
	faults *diskFaults
	failed bool
}

func (s *watchedSink) Write(p []byte) (int, error) {
	n, err := s.SnapshotSink.Write(p)
	if err != nil && !s.failed {
		s.failed = true
		s.faults.fail(opSnapshot, err)
	}
	return n, err
}

func (s *watchedSink) Close() error {
	err := s.SnapshotSink.Close()
	switch {
	case err != nil:
		s.faults.fail(opSnapshot, err)
	case !s.failed:
		s.faults.ok(opSnapshot)
	}
	return err
}

// openStores checks and opens the Raft stores in dir. Errors are
// *StoreError.
func openStores(dir string, faults *diskFaults, logger hclog.Logger) (*watchedStore, raft.SnapshotStore, error) {
	if err := checkStore(dir); err != nil {
		return nil, nil, err
	}
	bs, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, storeFile),
		BoltOptions: &bbolt.Options{Timeout: lockTimeout},
	})
	if err != nil {
		return nil, nil, &StoreError{Dir: dir, File: storeFile, Err: err}
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, logger)
	if err != nil {
		bs.Close()
		return nil, nil, &StoreError{Dir: dir, File: "snapshots", Err: err}
	}
	return &watchedStore{raftStore: bs, faults: faults, stop: make(chan struct{})},
		watchedSnapshots{SnapshotStore: snaps, faults: faults}, nil
}

// guard runs f, turning a panic or memory fault inside it (bbolt reading a
// damaged page) into a *StoreError for the data dir.
func guard(dir string, f func() error) (err error) {
	done := make(chan error, 1)
	go func() {
		debug.SetPanicOnFault(true)
		defer func() {
			if r := recover(); r != nil {
				done <- &StoreError{Dir: dir, File: storeFile, Corrupt: true, Err: panicReason(r)}
			}
		}()
		done <- f()
	}()
	return <-done
}

// lastViewInLog returns the id of the last view an entry of the local log
// makes, and of the view in the latest snapshot: the most this peer can have
// installed, hence printed.
func lastViewInLog(store raft.LogStore, snaps raft.SnapshotStore) (uint64, error) {
	var last uint64
	if metas, err := snaps.List(); err == nil && len(metas) > 0 {
		if _, rc, err := snaps.Open(metas[0].ID); err == nil {
			v, err := fsm.SnapshotView(rc)
			rc.Close()
			if err == nil {
				last = v.ID
			}
		}
	}
	first, err := store.FirstIndex()
	if err != nil {
		return 0, err
	}
	lastIdx, err := store.LastIndex()
	if err != nil {
		return 0, err
	}
	for i := first; i != 0 && i <= lastIdx; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			return 0, fmt.Errorf("read log entry %d: %w", i, err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		if v, ok := fsm.ViewAfter(l.Data); ok && v > last {
			last = v
		}
	}
	return last, nil
}

// storeError makes err a *StoreError of dir, if it is not one already. Raft
// failing to load its state means damaged data: a snapshot that does not
// read, or that belongs to another cluster than the data dir's id.
func storeError(dir string, err error) error {
	var se *StoreError
	if errors.As(err, &se) {
		return err
	}
	return &StoreError{Dir: dir, Corrupt: true, Err: err}
}

// openData checks and opens the Raft stores in the data dir, and tells the
// printer how far the local store goes. Errors are *StoreError.
func (n *Node) openData() error {
	store, snaps, err := openStores(n.dataDir, n.faults, n.log.Named("snapshots"))
	if err != nil {
		return err
	}
	n.store, n.snaps = store, snaps
	var lastView uint64
	if err := guard(n.dataDir, func() (err error) {
		lastView, err = lastViewInLog(store, snaps)
		return err
	}); err != nil {
		return storeError(n.dataDir, err)
	}
	n.printer.settle(lastView)
	return nil
}
