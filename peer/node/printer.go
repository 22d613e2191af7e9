package node

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

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

	mu      sync.Mutex
	last    uint64   // last printed view id
	current fsm.View // last installed view
	onFirst func()   // called once, when the peer first sees itself in a view
	onPrint func(fsm.View)
	// intercept, if set, sees each installed view first; true drops it
	// (see Options.Intercept).
	intercept func(prev, next fsm.View) bool
}

func newPrinter(self int, log *viewlog.Logger, dataDir string, onFirst func()) *printer {
	p := &printer{self: self, log: log, path: filepath.Join(dataDir, "printed-view"), onFirst: onFirst}
	if b, err := os.ReadFile(p.path); err == nil {
		p.last, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	return p
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
	// Record first: a crash in between loses a line rather than repeating one.
	_ = os.WriteFile(p.path, []byte(strconv.FormatUint(v.ID, 10)+"\n"), 0o644)
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
