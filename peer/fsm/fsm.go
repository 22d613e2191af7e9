package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
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
	// cluster is the cluster id: expected (ExpectCluster), or learned from
	// the first change or a snapshot; "" while unknown (and forever in a
	// cluster created before cluster ids existed). Written under mu.
	cluster string
	// onCluster, if set, is called when the FSM learns the cluster id.
	onCluster func(id string)
	// onView is called, in order, for every view the FSM installs, whether
	// by a log entry or by restoring a snapshot (restored is true then).
	onView func(v View, restored bool)
	// groups is the client groups state (its own lock).
	groups *groups.State
	// reg is the registry of peers outside the hostsfile (under mu).
	reg registry
	// onNames, if set, is told the registry after each change.
	onNames func(map[string]int)
}

// New returns an empty FSM. onView, if not nil, is called from Raft's FSM
// goroutine for each installed view; it must not block for long.
func New(onView func(v View, restored bool)) *FSM {
	return &FSM{onView: onView, groups: groups.NewState()}
}

// ExpectCluster sets the cluster id the FSM belongs to (read from the data
// dir, or just made by the bootstrapping peer): a first change or a
// snapshot of another cluster is then refused with a *ForeignClusterError.
// onLearn, if not nil, is called from Raft's FSM goroutine when the FSM
// learns the id from the log or a snapshot. Call it before the FSM applies
// anything.
func (f *FSM) ExpectCluster(id string, onLearn func(id string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cluster = id
	f.onCluster = onLearn
}

// Cluster returns the cluster id, "" while unknown. Safe for concurrent use.
func (f *FSM) Cluster() string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cluster
}

// learn checks the cluster id a first change or a snapshot carries against
// the FSM's, and takes it when the FSM has none; it returns the id learned
// ("" if none) and the callback to tell. Called from Raft's FSM goroutine.
func (f *FSM) learn(id string) (string, func(string), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case id == "" || id == f.cluster:
		return "", nil, nil
	case f.cluster != "":
		return "", nil, &ForeignClusterError{Have: f.cluster, Got: id}
	}
	f.cluster = id
	return id, f.onCluster, nil
}

// View returns the current view. Safe for concurrent use.
func (f *FSM) View() View {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.view.Clone()
}

// Member reports whether peer id is a member of the current view. Safe for
// concurrent use.
func (f *FSM) Member(id int) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.view.Contains(id)
}

// Apply applies a committed log entry. It returns a Result.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if isGroups(l) {
		return f.groups.Apply(l.Index, l.Data)
	}
	if len(l.Data) > 0 && Kind(l.Data[0]) == KindRegister {
		return f.applyRegister(l.Data[1:])
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
	learned, onCluster, err := f.learn(c.Cluster)
	if err != nil {
		return Result{View: cur.Clone(), Err: err}
	}
	if learned != "" && onCluster != nil {
		onCluster(learned)
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
	// Cluster is the cluster id ("" in clusters made before ids existed).
	Cluster string `json:"cluster,omitempty"`
	// Names and NextID are the registry (absent in snapshots made before
	// it existed, or of clusters that never used it).
	Names  map[string]int `json:"names,omitempty"`
	NextID int            `json:"next_id,omitempty"`
}

// Snapshot captures the current state for Raft.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	g := f.groups.Snapshot()
	st := snapshotState{View: f.View(), Groups: &g, Cluster: f.Cluster()}
	f.mu.RLock()
	st.Names, st.NextID = maps.Clone(f.reg.names), f.reg.next
	f.mu.RUnlock()
	return &snapshot{state: st}, nil
}

// Restore replaces the state with a snapshot.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var s snapshotState
	if err := json.NewDecoder(io.LimitReader(rc, maxSnapshot)).Decode(&s); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	if err := s.check(); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	// The id first: a snapshot of another cluster changes nothing.
	learned, onCluster, err := f.learn(s.Cluster)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	if learned != "" && onCluster != nil {
		onCluster(learned)
	}
	if err := f.groups.Restore(s.Groups); err != nil {
		return err
	}
	f.mu.Lock()
	f.reg = registry{names: maps.Clone(s.Names), next: s.NextID}
	onNames := f.onNames
	f.mu.Unlock()
	if onNames != nil {
		onNames(maps.Clone(s.Names))
	}
	if f.onView != nil && s.View.ID > 0 {
		f.onView(s.View.Clone(), true)
	}
	f.mu.Lock()
	f.view = s.View
	f.mu.Unlock()
	return nil
}

// maxSnapshot bounds what Restore reads of the view and groups state.
const maxSnapshot = 256 << 20

// check rejects a decoded snapshot no FSM could have written.
func (s snapshotState) check() error {
	if s.Cluster != "" && !ValidClusterID(s.Cluster) {
		return fmt.Errorf("bad cluster id %q", s.Cluster)
	}
	if !sortedUnique(s.View.Members) || !positive(s.View.Members) || s.View.Leader < 0 {
		return fmt.Errorf("members %v or leader %d are not a view's", s.View.Members, s.View.Leader)
	}
	if s.View.ID == 0 && (len(s.View.Members) > 0 || s.View.Leader != 0) {
		return errors.New("members or a leader before the first view")
	}
	return registry{names: s.Names, next: s.NextID}.check()
}

// ForeignClusterError says a log entry or snapshot belongs to another
// cluster than the FSM's.
type ForeignClusterError struct {
	// Have is the FSM's cluster id, Got the one the entry or snapshot carries.
	Have, Got string
}

func (e *ForeignClusterError) Error() string {
	return fmt.Sprintf("entry of cluster %s, but this peer belongs to cluster %s", e.Got, e.Have)
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
