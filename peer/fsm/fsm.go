package fsm

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"

	"roster/peer/groups"
)

// Result is what Apply returns (through raft.ApplyFuture.Response) for a
// change: the view after the entry, and an error when the change was refused.
// A groups entry returns a groups.Result instead.
type Result struct {
	View View
	Err  error
}

// FSM is the raft.FSM of a peer. Raft calls Apply and Restore from one
// goroutine, the only one that changes the view; View and Snapshot may be
// called from any goroutine.
type FSM struct {
	mu   sync.RWMutex
	view View
	// onView is called, in order, for every view the FSM installs, whether
	// by a log entry or by restoring a snapshot (restored is true then).
	onView func(v View, restored bool)
	// groups is the client groups state (its own lock).
	groups *groups.State
}

// New returns an empty FSM. onView, if not nil, is called from Raft's FSM
// goroutine for each installed view; it must not block for long.
func New(onView func(v View, restored bool)) *FSM {
	return &FSM{onView: onView, groups: groups.NewState()}
}

// View returns the current view. Safe for concurrent use.
func (f *FSM) View() View {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.view.Clone()
}

// Apply applies a committed log entry. It returns a Result.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if isGroups(l) {
		return f.groups.Apply(l.Index, l.Data)
	}
	_, c, err := decode(l.Data)
	if err != nil {
		return Result{View: f.View(), Err: err}
	}
	// Only this goroutine writes f.view: it may read it without the lock.
	cur := f.view
	if c.Base != cur.ID {
		return Result{View: cur.Clone(), Err: ErrStale}
	}
	next, changed := cur.next(c)
	if !changed {
		return Result{View: cur.Clone(), Err: ErrNoop}
	}
	// The observer (the view log) sees the view before View returns it, so
	// a view read through View has been printed.
	if f.onView != nil {
		f.onView(next.Clone(), false)
	}
	f.mu.Lock()
	f.view = next
	f.mu.Unlock()
	return Result{View: next.Clone()}
}

// snapshotState is the serialized form of the FSM.
type snapshotState struct {
	View   View             `json:"view"`
	Groups *groups.Snapshot `json:"groups,omitempty"`
}

// Snapshot captures the current state for Raft.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	g := f.groups.Snapshot()
	return &snapshot{state: snapshotState{View: f.View(), Groups: &g}}, nil
}

// Restore replaces the state with a snapshot.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var s snapshotState
	if err := json.NewDecoder(rc).Decode(&s); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	if err := f.groups.Restore(s.Groups); err != nil {
		return err
	}
	if f.onView != nil && s.View.ID > 0 {
		f.onView(s.View.Clone(), true)
	}
	f.mu.Lock()
	f.view = s.View
	f.mu.Unlock()
	return nil
}

type snapshot struct{ state snapshotState }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.state); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
