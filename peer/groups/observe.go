package groups

// Observer is told of the committed changes of the groups as this peer
// applies them (its metrics, say). Its methods are called from Raft's FSM
// goroutine, under the State's lock: they must be quick and must not call
// back into the State. They must be safe for concurrent use with whatever
// else reads the observer.
type Observer interface {
	// GroupSize says a group now has this many members (at least one).
	GroupSize(group string, members int)
	// GroupExpired says a member of a group was removed because its owner
	// found it dead (an expiration, not a leave).
	GroupExpired(group string)
	// GroupGone says a group no longer exists (its last member left).
	GroupGone(group string)
}

// SetObserver makes o hear of every change from now on, and tells it the
// size of every group now. Call it before Raft applies entries; nil stops.
func (s *State) SetObserver(o Observer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs = o
	if o == nil {
		return
	}
	for name, g := range s.groups {
		o.GroupSize(name, len(g.members))
	}
}
