package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/hashicorp/go-hclog"

	"roster/peer/fsm"
	"roster/peer/viewlog"
)

// printer decides which installed views a peer prints: only views that
// contain it, and never one it printed before a restart (Raft replays
// committed history into a restarted peer). The last printed view id is kept
// in the data directory. Safe for concurrent use.
type printer struct {
	self int
	log  *viewlog.Logger
	path string
	diag hclog.Logger
	// faults hears whether writing the marker file works.
	faults *diskFaults
	// marker is what the file held at start (markerOK false: unknown).
	marker   uint64
	markerOK bool
	markerIs string // why not, for the warning
	// dirty is set while the file does not hold last (a write failed).
	dirty bool

	mu      sync.Mutex
	last    uint64   // last printed view id
	current fsm.View // last installed view
	onFirst func()   // called once, when the peer first sees itself in a view
	onPrint func(fsm.View)
	// intercept, if set, sees each installed view first; true drops it
	// (see Options.Intercept).
	intercept func(prev, next fsm.View) bool
}

// newPrinter reads the marker file in dataDir; settle must be called
// before the first view is installed.
func newPrinter(self int, log *viewlog.Logger, dataDir string, onFirst func(), diag hclog.Logger, faults *diskFaults) *printer {
	p := &printer{self: self, log: log, path: filepath.Join(dataDir, markerFile), onFirst: onFirst, diag: diag, faults: faults}
	b, err := os.ReadFile(p.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		p.markerOK = true // nothing printed yet
	case err != nil:
		p.markerIs = err.Error()
	default:
		p.marker, err = parseMarker(b)
		p.markerOK = err == nil
		if err != nil {
			p.markerIs = err.Error()
		}
	}
	return p
}

// maxMarker is the longest marker file: a uint64 and a newline.
const maxMarker = 21

// parseMarker reads the marker file: a view id in decimal and a newline.
func parseMarker(b []byte) (uint64, error) {
	if len(b) > maxMarker {
		return 0, fmt.Errorf("%d bytes, not a view id", len(b))
	}
	s := string(b)
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a view id", s)
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a view id", s)
	}
	return v, nil
}

// settle decides from where views are printed: after the marker, when it
// holds a view id this peer can have printed (at most lastKnown, the last
// view its store holds). A marker that cannot be read, or names a view
// beyond lastKnown, is unknown: trusting "abc" would print history again,
// and "999999" would silence the peer. Then the views the store already
// holds are taken as printed (a line may be lost, none repeated), and the
// peer says so at warn level.
func (p *printer) settle(lastKnown uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.markerOK:
		p.diag.Warn("printed-view file unreadable: taking every view in the local store as printed",
			"file", p.path, "problem", p.markerIs, "last_view", lastKnown)
		p.last = lastKnown
	case p.marker > lastKnown:
		p.diag.Warn("printed-view file names a view beyond the local store: taking every view in it as printed",
			"file", p.path, "marker", p.marker, "last_view", lastKnown)
		p.last = lastKnown
	default:
		p.last = p.marker
		return
	}
	// Replace the bad marker, so that the next start does not warn again.
	p.writeMarker()
}

// writeMarker writes last to the marker file; the caller holds p.mu. A
// failed write is loud, and retried by retryMarker.
func (p *printer) writeMarker() {
	if err := writeFileAtomic(p.path, []byte(strconv.FormatUint(p.last, 10)+"\n")); err != nil {
		p.dirty = true
		p.faults.fail(opMarker, err)
		return
	}
	p.dirty = false
	p.faults.ok(opMarker)
}

// retryMarker writes the marker again if the last write failed.
func (p *printer) retryMarker() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty {
		p.writeMarker()
	}
}

// installed is the FSM's observer.
func (p *printer) installed(v fsm.View, _ bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.intercept != nil && p.intercept(p.current, v) {
		return
	}
	p.current = v
	if !v.Contains(p.self) {
		return
	}
	if p.onFirst != nil {
		go p.onFirst()
		p.onFirst = nil
	}
	if v.ID <= p.last {
		return
	}
	p.last = v.ID
	// Record first: a crash in between loses a line rather than repeating
	// one. A failed write is loud (the peer would repeat the line after a
	// restart), but the line is printed anyway.
	p.writeMarker()
	p.log.View(v.ID, v.Leader, v.Members)
	if p.onPrint != nil {
		p.onPrint(v)
	}
}

// message prints an event line stamped with the current view, if this peer
// is a member of it (or always, when force is set).
func (p *printer) message(msg string, force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if force || p.current.Contains(p.self) {
		p.log.Message(p.current.ID, p.current.Leader, msg)
	}
}

// leaderOfView returns the leader of the current view.
func (p *printer) leaderOfView() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current.Leader
}
