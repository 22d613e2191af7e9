package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
)

// StoreError says a peer's data dir cannot be used: its Raft store is
// damaged, missing while the rest of the dir says it existed, or held by
// another process. A command exits with its own status for it.
type StoreError struct {
	// Dir is the data dir, File the damaged or busy file in it ("" when
	// the fault is not in one known file).
	Dir, File string
	// Corrupt is true when the data is damaged (move the dir away), false
	// when it is only unusable now (busy, unreadable).
	Corrupt bool
	Err     error
}

func (e *StoreError) Error() string {
	what := "data dir " + e.Dir
	if e.File != "" {
		what = filepath.Join(e.Dir, e.File)
	}
	if e.Corrupt {
		return fmt.Sprintf("%s is corrupt (%v): move the data dir %s away (or delete it) and restart to rejoin as a new member; the cluster keeps its views",
			what, e.Err, e.Dir)
	}
	return fmt.Sprintf("%s: %v", what, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// Files of a data dir besides Raft's snapshots.
const (
	storeFile   = "raft.db"
	markerFile  = "printed-view" // the last view printed, in data dirs of peers before lives (fsm/life.go)
	clusterFile = "cluster-id"
)

// lockTimeout bounds the wait for another process's lock on raft.db.
const lockTimeout = 2 * time.Second

// checkStore checks raft.db in dir before Raft uses it: every page it
// reaches must be readable and inside the file. bbolt maps the file into
// memory and trusts it: a truncated file makes it fault (SIGBUS) and a
// damaged page makes it panic, in whatever goroutine reads it, Raft's
// included. checkStore reads every page once, on a goroutine of its own that
// turns such faults into errors, so that Raft later reads only pages known
// to be sound. A missing or empty raft.db is fine in a new data dir, and
// corrupt in one that holds a peer's other files.
func checkStore(dir string) error {
	path := filepath.Join(dir, storeFile)
	fi, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return &StoreError{Dir: dir, File: storeFile, Err: err}
	}
	if err != nil || fi.Size() == 0 {
		for _, f := range []string{clusterFile, markerFile} {
			if _, serr := os.Stat(filepath.Join(dir, f)); serr == nil {
				what := "missing"
				if err == nil {
					what = "empty"
				}
				return &StoreError{Dir: dir, File: storeFile, Corrupt: true, Err: fmt.Errorf("%s, but the data dir holds %s", what, f)}
			}
		}
		return nil
	}
	done := make(chan error, 1)
	go func() {
		debug.SetPanicOnFault(true)
		defer func() {
			if r := recover(); r != nil {
				done <- &StoreError{Dir: dir, File: storeFile, Corrupt: true, Err: panicReason(r)}
			}
		}()
		done <- walkStore(dir, fi.Size())
	}()
	return <-done
}

// panicReason turns a recovered bbolt panic or memory fault into a short
// error. With SetPanicOnFault, a fault is a runtime.Error with an Addr method.
func panicReason(r any) error {
	if _, fault := r.(interface{ Addr() uintptr }); fault {
		return errors.New("a page lies outside the file: truncated?")
	}
	return fmt.Errorf("%v", r)
}

// walkStore opens raft.db and reads every bucket, key and value.
func walkStore(dir string, size int64) error {
	path := filepath.Join(dir, storeFile)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return &StoreError{Dir: dir, File: storeFile, Err: errors.New("locked by another process (another peer on this data dir?)")}
	case errors.As(err, new(*fs.PathError)):
		return &StoreError{Dir: dir, File: storeFile, Err: err} // permissions, I/O
	case err != nil:
		// ErrInvalid, ErrChecksum, "file size too small", ...: the content.
		return &StoreError{Dir: dir, File: storeFile, Corrupt: true, Err: err}
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		if need := tx.Size(); size < need {
			return fmt.Errorf("the file has %d bytes, its pages need %d: truncated?", size, need)
		}
		return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return walkBucket(b) })
	})
	if err != nil {
		return &StoreError{Dir: dir, File: storeFile, Corrupt: true, Err: err}
	}
	return nil
}

// walkBucket touches every key and value of b, nested buckets included.
func walkBucket(b *bbolt.Bucket) error {
	var sum byte
	err := b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				return walkBucket(nb)
			}
			return nil
		}
		if len(v) > 0 {
			sum ^= v[0] ^ v[len(v)-1] // read the value's first and last pages
		}
		return nil
	})
	runtime.KeepAlive(sum)
	return err
}
