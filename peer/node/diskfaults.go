package node

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// relogEvery is how often a storage operation that keeps failing is logged
// again.
const relogEvery = time.Minute

// diskFaults records which storage operations fail now, for /ready: each
// is logged at error level when it starts failing (and again every
// relogEvery while it goes on), and at warn when it works again. Safe for
// concurrent use.
type diskFaults struct {
	log hclog.Logger
	dir string

	mu sync.Mutex
	m  map[string]*diskFault

	probeMu  sync.Mutex
	probed   time.Time
	probeErr error
}

type diskFault struct {
	err      error
	since    time.Time
	logged   time.Time
	failures int
}

func newDiskFaults(log hclog.Logger, dir string) *diskFaults {
	return &diskFaults{log: log, dir: dir, m: map[string]*diskFault{}}
}

// fail records that what (like "append to the raft log") failed with err.
func (d *diskFaults) fail(what string, err error) {
	now := time.Now()
	d.mu.Lock()
	f := d.m[what]
	if f == nil {
		f = &diskFault{since: now}
		d.m[what] = f
	}
	f.err = err
	f.failures++
	logNow := f.logged.IsZero() || now.Sub(f.logged) >= relogEvery
	if logNow {
		f.logged = now
	}
	failures, since := f.failures, f.since
	d.mu.Unlock()
	if logNow {
		d.log.Error("storage fault: "+what+" failed: the peer is not ready until it works again",
			"data_dir", d.dir, "error", err, "failures", failures, "since", since.Format(time.RFC3339))
	}
}

// ok records that what worked; a fault it had is over.
func (d *diskFaults) ok(what string) {
	d.mu.Lock()
	f := d.m[what]
	delete(d.m, what)
	d.mu.Unlock()
	if f != nil {
		d.log.Warn("storage works again: "+what, "data_dir", d.dir, "failures", f.failures, "for", time.Since(f.since).Round(time.Millisecond))
	}
}

// current returns one line per failing operation, sorted.
func (d *diskFaults) current() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for what, f := range d.m {
		out = append(out, fmt.Sprintf("%s failed %d times since %s: %v", what, f.failures, f.since.Format(time.RFC3339), f.err))
	}
	slices.Sort(out)
	return out
}

// probeEvery bounds how often /ready writes a probe file to the data dir.
const probeEvery = 2 * time.Second

// probe writes and removes a small file in the data dir, at most
// once every probeEvery (later calls share the last result), and returns
// the error, if any.
func (d *diskFaults) probe() error {
	if d.dir == "" {
		return nil // no data dir: the state lives in memory
	}
	d.probeMu.Lock()
	defer d.probeMu.Unlock()
	if !d.probed.IsZero() && time.Since(d.probed) < probeEvery {
		return d.probeErr
	}
	d.probed = time.Now()
	d.probeErr = writeProbe(d.dir)
	if d.probeErr != nil {
		d.fail("writing a file in the data dir", d.probeErr)
	} else {
		d.ok("writing a file in the data dir")
	}
	return d.probeErr
}

func writeProbe(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	// A block's worth, not synced: a full disk refuses the write itself,
	// and a sync every 2 s would compete with Raft's own.
	_, err = f.Write(make([]byte, 4096))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// diskCheckEvery is how often a peer checks that its data dir can be
// written.
const diskCheckEvery = 2 * time.Second

// watchDisk checks the data dir every diskCheckEvery until ctx is done, so
// that a full or failing disk is logged (and seen to recover) even while
// nothing else writes.
func (n *Node) watchDisk(ctx context.Context) {
	t := time.NewTicker(diskCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.faults.probe()
	}
}
