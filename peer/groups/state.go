package groups

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Member is one client in a group, as committed.
type Member struct {
	Client string
	// Addr is where the client is checked.
	Addr string
	// Meta is the JSON object the client joined with (may be nil).
	Meta json.RawMessage
	// Incarnation is the Raft index of the entry that admitted this life.
	Incarnation uint64
	// Request is the id of the join request that admitted it ("" if none).
	Request string
}

// GroupView is one committed state of one group. It is immutable (treat
// Members as read-only): share it freely between goroutines, by pointer.
type GroupView struct {
	Name string
	// Index is the Raft index of the last entry that changed the group.
	Index uint64
	// Members are sorted by client id.
	Members []Member

	memo atomic.Pointer[memo]
}

type memo struct {
	key  uint64
	val  any
	done chan struct{} // closed once val is set
}

// Memo returns what build returns for key, computed once per key for all
// readers of this state: a reader derives its answer (under a view, say)
// once and shares it. It keeps the last key only. Safe for concurrent use:
// the readers that come while build runs (the watchers a change wakes all
// at once) wait for its result rather than build it again, so a change is
// encoded once, not once per watcher; they wait on a channel that build's
// end closes, which wakes them all at once (a mutex would hand the lock
// from one to the next, each waiting for the one before to be scheduled).
// build must not call Memo on the same state.
func (g *GroupView) Memo(key uint64, build func() any) any {
	for {
		m := g.memo.Load()
		if m != nil && m.key == key {
			<-m.done
			return m.val
		}
		mine := &memo{key: key, done: make(chan struct{})}
		if !g.memo.CompareAndSwap(m, mine) {
			continue // another reader started first: wait for it
		}
		mine.val = build()
		close(mine.done)
		return mine.val
	}
}

// Clients returns the members' ids, in order.
func (g *GroupView) Clients() []string {
	out := make([]string, len(g.Members))
	for i, m := range g.Members {
		out[i] = m.Client
	}
	return out
}

// Find returns the member with this client id.
func (g *GroupView) Find(client string) (Member, bool) {
	i, ok := sort.Find(len(g.Members), func(i int) int { return strings.Compare(client, g.Members[i].Client) })
	if !ok {
		return Member{}, false
	}
	return g.Members[i], true
}

// Summary is one group in a list.
type Summary struct {
	Index uint64
	Size  int
}

// group is the mutable state of one group, under State.mu.
type group struct {
	index   uint64
	members map[string]Member
	view    *GroupView    // built on first read after a change
	changed chan struct{} // closed (and replaced) at each change
}

func newGroup() *group {
	return &group{members: map[string]Member{}, changed: make(chan struct{})}
}

// State is the groups part of the replicated state machine. Raft's FSM
// goroutine calls Apply and Restore; every other method may be called from
// any goroutine. Readers get immutable views and channels that are closed
// at the next change, so they can wait without polling.
type State struct {
	mu      sync.RWMutex
	groups  map[string]*group
	index   uint64   // last entry that changed any group
	applied uint64   // last groups entry applied, changed or not
	clients int      // members in all groups
	obs     Observer // nil: none

	// Closed and replaced on every change of their subject (each group
	// has its own, see group.changed).
	anyCh     chan struct{} // any group changed
	appliedCh chan struct{} // a groups entry was applied
}

// NewState returns an empty State.
func NewState() *State {
	return &State{
		groups:    map[string]*group{},
		anyCh:     make(chan struct{}),
		appliedCh: make(chan struct{}),
	}
}

// Apply applies a committed groups entry at Raft index index. Ops are
// applied in order; a malformed op is refused alone (its OpResult.Err).
func (s *State) Apply(index uint64, data []byte) Result {
	b, err := DecodeBatch(data)
	if err != nil {
		s.mu.Lock()
		s.noteApplied(index)
		s.mu.Unlock()
		return Result{Index: index, Err: err}
	}
	res := Result{Index: index, Ops: make([]OpResult, len(b.Ops))}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := map[string]bool{}
	for i, op := range b.Ops {
		if err := op.validate(); err != nil {
			res.Ops[i].Err = err
			continue
		}
		res.Ops[i] = s.applyOp(index, op)
		if res.Ops[i].Changed {
			changed[op.Group] = true
			if op.Kind == OpExpire && s.obs != nil {
				s.obs.GroupExpired(op.Group)
			}
		}
	}
	if len(changed) > 0 {
		s.index = index
		for name := range changed {
			g := s.groups[name]
			g.index, g.view = index, nil
			close(g.changed)
			g.changed = make(chan struct{})
			if len(g.members) == 0 {
				delete(s.groups, name)
			}
			s.observeSize(name, len(g.members))
		}
		close(s.anyCh)
		s.anyCh = make(chan struct{})
	}
	s.noteApplied(index)
	return res
}

// observeSize tells the observer a group's size (0: gone); the caller
// holds s.mu.
func (s *State) observeSize(name string, members int) {
	switch {
	case s.obs == nil:
	case members == 0:
		s.obs.GroupGone(name)
	default:
		s.obs.GroupSize(name, members)
	}
}

// applyOp applies one valid op; the caller holds s.mu.
func (s *State) applyOp(index uint64, op Op) OpResult {
	g := s.groups[op.Group]
	switch op.Kind {
	case OpJoin:
		if g == nil {
			g = newGroup()
			s.groups[op.Group] = g
		}
		m, ok := g.members[op.Client]
		if ok && op.Request != "" && op.Request == m.Request {
			return OpResult{Incarnation: m.Incarnation} // the same request again
		}
		if !ok {
			s.clients++
		}
		g.members[op.Client] = Member{Client: op.Client, Addr: op.Addr, Meta: op.Meta, Incarnation: index, Request: op.Request}
		return OpResult{Changed: true, Incarnation: index}
	case OpLeave, OpExpire:
		if g == nil {
			return OpResult{}
		}
		m, ok := g.members[op.Client]
		if !ok || op.Incarnation != 0 && op.Incarnation != m.Incarnation {
			return OpResult{}
		}
		delete(g.members, op.Client)
		s.clients--
		return OpResult{Changed: true, Incarnation: m.Incarnation}
	}
	return OpResult{}
}

// noteApplied records the last applied groups entry; the caller holds s.mu.
func (s *State) noteApplied(index uint64) {
	if index > s.applied {
		s.applied = index
	}
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
}

// Group returns the committed state of a group (nil when it has no
// members), the index of the last change of any group, and a channel
// closed at the group's next change (for a group without members: at the
// next change of any group, so that waiting on one costs nothing per name).
func (s *State) Group(name string) (*GroupView, uint64, <-chan struct{}) {
	s.mu.RLock()
	g := s.groups[name]
	switch {
	case g == nil:
		defer s.mu.RUnlock()
		return nil, s.index, s.anyCh
	case g.view != nil:
		defer s.mu.RUnlock()
		return g.view, s.index, g.changed
	}
	s.mu.RUnlock()
	// Build the view once for every reader: that needs the write lock.
	s.mu.Lock()
	defer s.mu.Unlock()
	if g = s.groups[name]; g == nil {
		return nil, s.index, s.anyCh
	}
	if g.view == nil {
		g.view = buildView(name, g)
	}
	return g.view, s.index, g.changed
}

func buildView(name string, g *group) *GroupView {
	v := &GroupView{Name: name, Index: g.index, Members: make([]Member, 0, len(g.members))}
	for _, m := range g.members {
		v.Members = append(v.Members, m)
	}
	slices.SortFunc(v.Members, func(a, b Member) int { return strings.Compare(a.Client, b.Client) })
	return v
}

// List returns every group's index and size, the index of the last change
// of any group, and a channel closed at the next change of any group.
func (s *State) List() (map[string]Summary, uint64, <-chan struct{}) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]Summary, len(s.groups))
	for name, g := range s.groups {
		out[name] = Summary{Index: g.index, Size: len(g.members)}
	}
	return out, s.index, s.anyCh
}

// Index returns the index of the last change of any group and a channel
// closed at the next one.
func (s *State) Index() (uint64, <-chan struct{}) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index, s.anyCh
}

// Applied returns the index of the last groups entry applied and a channel
// closed when the next one is.
func (s *State) Applied() (uint64, <-chan struct{}) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied, s.appliedCh
}

// Size returns the number of groups and of members in all of them.
func (s *State) Size() (groups, clients int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.groups), s.clients
}

// Each calls f for every member of every group, under a read lock: f must
// be quick and must not call back into s.
func (s *State) Each(f func(group string, m Member)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, g := range s.groups {
		for _, m := range g.members {
			f(name, m)
		}
	}
}
