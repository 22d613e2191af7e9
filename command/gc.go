package command

import (
	"os"
	"runtime/debug"
	"sync"
	"time"

	"roster/peer/fsm"
)

// peerGCPercent is a peer's GOGC. Its live heap is small (1-3 MB, most of it
// Raft's connection buffers), and Go's default (100) lets the heap grow to
// twice that before collecting; 50 keeps about 0.5 MB less resident (lab
// bench), for a few more collections of a small heap.
const peerGCPercent = 50

// startGCPercent is a peer's GOGC until its first view (at most
// startGCWindow): a heap goal of 16 MB, which a starting peer does not
// reach. At 50 a joiner collected twice in its first 25 ms (GODEBUG=gctrace=1),
// once with a 2 ms pause, while the leader pinged it and Raft sent it the
// log: a join waited for those collections.
const (
	startGCPercent = 400
	startGCWindow  = 5 * time.Second
)

// tuneGC sets the peer's GC target for its start, unless GOGC says
// otherwise, and returns the function that sets its lasting target (once,
// whoever calls it; safe for concurrent use). That function is also called
// startGCWindow from now.
func tuneGC() func() {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	debug.SetGCPercent(startGCPercent)
	var once sync.Once
	settle := func() { once.Do(func() { debug.SetGCPercent(peerGCPercent) }) }
	time.AfterFunc(startGCWindow, settle)
	return settle
}

// onFirstView returns an OnInstall (node.Options) that calls next with each
// view and, on a goroutine of its own, first once the peer prints its first
// view.
func onFirstView(next func(fsm.View), first func()) func(fsm.View) {
	var once sync.Once
	return func(v fsm.View) {
		once.Do(func() { go first() })
		if next != nil {
			next(v)
		}
	}
}
