package node

import (
	"bytes"
	"errors"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Storage operations, as diskFaults names them.
const (
	opAppend   = "writing the raft log"
	opStable   = "writing raft state (term, vote)"
	opSnapshot = "writing a raft snapshot"
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
