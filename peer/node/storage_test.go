package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"roster/peer/fsm"

	"roster/internal/testkit"
)

// makeStore writes a raft.db in dir with n log entries of size bytes, each
// a view change, and returns the file's path.
func makeStore(t *testing.T, dir string, n, size int) string {
	t.Helper()
	path := filepath.Join(dir, storeFile)
	s, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		c := fsm.Change{Base: uint64(i - 1), Add: []int{i}, Leader: 1}
		data := append(c.Encode(), bytes.Repeat([]byte(" "), size)...)
		if err := s.StoreLog(&raft.Log{Index: uint64(i), Term: 1, Type: raft.LogCommand, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetUint64(keyCurrentTerm, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

func TestCheckStoreSound(t *testing.T) {
	dir := t.TempDir()
	makeStore(t, dir, 50, 3000)
	if err := checkStore(dir); err != nil {
		t.Fatalf("a sound store: %v", err)
	}
	if err := checkStore(t.TempDir()); err != nil {
		t.Fatalf("a new data dir: %v", err)
	}
}

func TestCheckStoreTruncated(t *testing.T) {
	for _, size := range []int64{16384, 4096, 100} {
		dir := t.TempDir()
		path := makeStore(t, dir, 50, 3000)
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		err := checkStore(dir)
		var se *StoreError
		if !errors.As(err, &se) || !se.Corrupt || se.File != storeFile {
			t.Fatalf("truncated to %d: got %v, want a corrupt-store error", size, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, path) || !strings.Contains(msg, "move the data dir "+dir+" away") {
			t.Errorf("truncated to %d: message %q: want one line naming the file and what to do", size, msg)
		}
	}
}

func TestCheckStoreGarbage(t *testing.T) {
	dir := t.TempDir()
	path := makeStore(t, dir, 20, 100)
	b, _ := os.ReadFile(path)
	for i := range b {
		b[i] ^= 0x5a
	}
	os.WriteFile(path, b, 0o600)
	var se *StoreError
	if err := checkStore(dir); !errors.As(err, &se) || !se.Corrupt {
		t.Fatalf("garbage: got %v, want a corrupt-store error", err)
	}
}

func TestCheckStoreEmptyWithState(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, storeFile), nil, 0o600)
	if err := checkStore(dir); err != nil {
		t.Fatalf("an empty raft.db alone (a peer that died at once): %v", err)
	}
	os.WriteFile(filepath.Join(dir, markerFile), []byte("4\n"), 0o644)
	var se *StoreError
	if err := checkStore(dir); !errors.As(err, &se) || !se.Corrupt || !strings.Contains(err.Error(), "empty, but the data dir holds printed-view") {
		t.Fatalf("empty raft.db beside a marker: got %v", err)
	}
	os.Remove(filepath.Join(dir, storeFile))
	if err := checkStore(dir); !errors.As(err, &se) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing raft.db beside a marker: got %v", err)
	}
}

func TestCheckStoreLocked(t *testing.T) {
	dir := t.TempDir()
	path := makeStore(t, dir, 5, 10)
	s, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = checkStore(dir)
	var se *StoreError
	if !errors.As(err, &se) || se.Corrupt || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("a store in use: got %v", err)
	}
}

func TestReadClusterID(t *testing.T) {
	dir := t.TempDir()
	if id, err := readClusterID(dir); id != "" || err != nil {
		t.Fatalf("no file: %q, %v", id, err)
	}
	want := fsm.NewClusterID()
	if err := writeClusterID(dir, want); err != nil {
		t.Fatal(err)
	}
	if id, err := readClusterID(dir); id != want || err != nil {
		t.Fatalf("read %q, %v; want %q", id, err, want)
	}
	os.WriteFile(filepath.Join(dir, clusterFile), []byte("not an id\n"), 0o644)
	var se *StoreError
	if _, err := readClusterID(dir); !errors.As(err, &se) || !se.Corrupt || se.File != clusterFile {
		t.Fatalf("garbage: got %v", err)
	}
}

// failingStore fails writes with err while it is set.
type failingStore struct {
	raftStore
	mu  sync.Mutex
	err error
}

func (f *failingStore) setErr(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }
func (f *failingStore) get() error       { f.mu.Lock(); defer f.mu.Unlock(); return f.err }
func (f *failingStore) StoreLogs(ls []*raft.Log) error {
	if err := f.get(); err != nil {
		return err
	}
	return f.raftStore.StoreLogs(ls)
}
func (f *failingStore) SetUint64(k []byte, v uint64) error {
	if err := f.get(); err != nil {
		return err
	}
	return f.raftStore.SetUint64(k, v)
}

func testFaults(t *testing.T) (*diskFaults, *testkit.SyncBuffer) {
	var lb testkit.SyncBuffer
	return newDiskFaults(hclog.New(&hclog.LoggerOptions{Output: &lb, Level: hclog.Warn}), t.TempDir()), &lb
}

func TestWatchedStoreReportsFailures(t *testing.T) {
	dir := t.TempDir()
	bs, err := raftboltdb.New(raftboltdb.Options{Path: makeStore(t, dir, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	fs := &failingStore{raftStore: bs}
	faults, logs := testFaults(t)
	w := &watchedStore{raftStore: fs, faults: faults, stop: make(chan struct{})}
	full := syscall.ENOSPC
	fs.setErr(full)
	for i := 0; i < 3; i++ {
		if err := w.StoreLogs([]*raft.Log{{Index: 2, Term: 1}}); !errors.Is(err, full) {
			t.Fatalf("StoreLogs: %v, want the store's error", err)
		}
	}
	cur := faults.current()
	if len(cur) != 1 || !strings.Contains(cur[0], opAppend+" failed 3 times") || !strings.Contains(cur[0], "no space left on device") {
		t.Fatalf("current faults %q", cur)
	}
	if n := strings.Count(logs.String(), "[ERROR]"); n != 1 || !strings.Contains(logs.String(), "storage fault: "+opAppend) {
		t.Fatalf("want one error line for three failures (then one a minute), got:\n%s", logs.String())
	}
	fs.setErr(nil)
	if err := w.StoreLogs([]*raft.Log{{Index: 2, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	if cur := faults.current(); len(cur) != 0 || !strings.Contains(logs.String(), "storage works again") {
		t.Fatalf("after a good write: faults %q, log:\n%s", cur, logs.String())
	}
}

func TestWatchedStoreStallsTermWrite(t *testing.T) {
	dir := t.TempDir()
	bs, err := raftboltdb.New(raftboltdb.Options{Path: makeStore(t, dir, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	fs := &failingStore{raftStore: bs}
	faults, _ := testFaults(t)
	w := &watchedStore{raftStore: fs, faults: faults, stop: make(chan struct{})}
	fs.setErr(syscall.ENOSPC)
	// Before Raft runs, the error is returned (NewRaft fails cleanly).
	if err := w.SetUint64(keyCurrentTerm, 2); err == nil {
		t.Fatal("want the error before Raft runs")
	}
	w.running.Store(true)
	// Once it runs, the write waits for the disk, and ends when it works.
	done := make(chan error, 1)
	go func() { done <- w.SetUint64(keyCurrentTerm, 3) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(faults.current()) == 0 || !strings.Contains(faults.current()[0], "failed 2 times") {
		if time.Now().After(deadline) {
			t.Fatalf("the term write did not retry: %q", faults.current())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the term write returned %v while the disk fails", err)
	default:
	}
	fs.setErr(nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, _ := bs.GetUint64(keyCurrentTerm); v != 3 {
		t.Fatalf("term %d, want 3", v)
	}
	// A stalled write on a stopping peer ends its goroutine without a panic.
	fs.setErr(syscall.ENOSPC)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		w.SetUint64(keyCurrentTerm, 4)
		t.Error("SetUint64 returned on a stopped peer")
	}()
	close(w.stop)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stalled write did not end when the peer stopped")
	}
}
