package node

import (
	"sync"

	"roster/peer/fsm"
	"roster/peer/viewlog"
)

// printer decides which installed views and events a peer prints: only the
// views of its current life (views that hold it with its own life number;
// see fsm/life.go), each once. Raft replays the committed history into a
// restarted peer, from its data directory or from the leader; none of it
// holds the new life, so none of it is printed again. After "crashing" or
// "leaving" nothing more is printed. Safe for concurrent use.
type printer struct {
	self int
	life uint64
	log  *viewlog.Logger

	mu      sync.Mutex
	last    uint64   // last printed view id
	current fsm.View // last installed view
	done    bool     // "crashing" or "leaving" printed: print nothing more
	onFirst func()   // called once, when the peer first sees itself in a view of its life
	onPrint func(fsm.View)
	// intercept, if set, sees each installed view first; true drops it
	// (see Options.Intercept).
	intercept func(prev, next fsm.View) bool
}

func newPrinter(self int, life uint64, log *viewlog.Logger, onFirst func()) *printer {
	return &printer{self: self, life: life, log: log, onFirst: onFirst}
}

// setSelf sets the id of a peer that learned it after the printer was made
// (a peer outside the hostsfile), with the view log that stamps it.
func (p *printer) setSelf(id int, log *viewlog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.self, p.log = id, log
}

// mine reports whether v is a view of this peer's current life. The caller
// holds p.mu.
func (p *printer) mine(v fsm.View) bool { return v.HasLife(p.self, p.life) }

// installed is the FSM's observer.
func (p *printer) installed(v fsm.View, _ bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.intercept != nil && p.intercept(p.current, v) {
		return
	}
	p.current = v
	if !p.mine(v) {
		return
	}
	if p.onFirst != nil {
		go p.onFirst()
		p.onFirst = nil
	}
	if v.ID <= p.last || p.done {
		return
	}
	p.last = v.ID
	p.log.View(v.ID, v.Leader, v.Members)
	if p.onPrint != nil {
		p.onPrint(v)
	}
}

// message prints an event line stamped with the current view, if this peer
// is a member of it in its current life (or always, when force is set).
// "crashing" and "leaving" are a life's last line: nothing is printed after
// them.
func (p *printer) message(msg string, force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	if force || p.mine(p.current) {
		p.log.Message(p.current.ID, p.current.Leader, msg)
	}
	p.done = msg == viewlog.Crashing || msg == viewlog.Leaving
}

// unreachable prints that failure detection found peer id dead, unless the
// current view no longer holds it (the view that removed it came first) or
// this peer is not in it.
func (p *printer) unreachable(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.self == 0 || p.done || !p.mine(p.current) || !p.current.Contains(id) {
		return
	}
	p.log.Message(p.current.ID, p.current.Leader, viewlog.Unreachable(id, id == p.current.Leader))
}
