package reconcile

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/peer/fsm"
)

// Membership is what the loop needs from failure detection.
type Membership interface {
	// Alive maps the ids of the hostsfile peers seen alive to their Raft
	// addresses. It must be safe for concurrent use.
	Alive() map[int]string
	// Changed delivers a signal after the alive set may have changed.
	Changed() <-chan struct{}
	// Answering returns those of ids that answer a direct check now. The
	// loop adds to the view only peers that do.
	Answering(ids []int) []int
}

// Hooks let a scenario act around the commit of a view change. Both run on
// the loop's goroutine; nil hooks are skipped.
type Hooks struct {
	// BeforeCommit runs before a change is proposed.
	BeforeCommit func(fsm.Change)
	// AfterCommit runs once the change is committed and applied locally.
	AfterCommit func(fsm.Change, fsm.View)
}

// Loop is the leader's reconcile loop. Build it with all fields set and call
// Run once; it is not safe to call Run twice.
type Loop struct {
	Raft      *raft.Raft
	Self      int
	View      func() fsm.View
	Members   Membership
	MaxVoters int
	// Tick is how often the loop re-checks with no event (default 250 ms).
	Tick   time.Duration
	Logger hclog.Logger
	Hooks  Hooks
	// Lives, if set, returns the life number each alive peer announces
	// (State.Lives); it must be safe for concurrent use.
	Lives func() map[int]uint64
}

// ServerID is the Raft server id of peer id.
func ServerID(id int) raft.ServerID { return raft.ServerID(strconv.Itoa(id)) }

// timeout bounds each Raft operation of the loop.
const timeout = 5 * time.Second

// Run reconciles while this peer leads, until ctx is done.
func (l *Loop) Run(ctx context.Context) {
	tick := l.Tick
	if tick == 0 {
		tick = 250 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var readyTerm uint64 // the term whose Barrier has completed
	for {
		if l.Raft.State() == raft.Leader {
			term := l.Raft.CurrentTerm()
			if term != readyTerm {
				// Apply everything earlier leaders committed before judging the view.
				if err := l.Raft.Barrier(timeout).Error(); err != nil {
					l.Logger.Warn("barrier failed", "error", err)
				} else {
					readyTerm = term
				}
			}
			if readyTerm == term {
				l.reconcile(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.Members.Changed():
		case <-l.Raft.LeaderCh():
		case <-t.C:
		}
	}
}

// reconcile takes steps until there is nothing to do, a step fails, or the
// peer stops leading.
func (l *Loop) reconcile(ctx context.Context) {
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		cf := l.Raft.GetConfiguration()
		if err := cf.Error(); err != nil {
			l.Logger.Warn("get configuration", "error", err)
			return
		}
		s := State{Self: l.Self, View: l.View(), Alive: l.Members.Alive(), MaxVoters: l.MaxVoters}
		if l.Lives != nil {
			s.Lives = l.Lives()
		}
		for _, srv := range cf.Configuration().Servers {
			id, err := strconv.Atoi(string(srv.ID))
			if err != nil {
				continue
			}
			s.Config = append(s.Config, Server{ID: id, Addr: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
		}
		if _, ok := s.Alive[l.Self]; !ok {
			// Failure detection has not seen itself yet; never remove ourselves.
			return
		}
		l.dropSilentJoiners(&s)
		step, ok := Next(s)
		if !ok {
			return
		}
		l.Logger.Debug("reconcile", "step", step.String())
		if err := l.take(step); err != nil {
			if errors.Is(err, fsm.ErrStale) || errors.Is(err, fsm.ErrNoop) {
				continue // the view moved on under us: plan again from it
			}
			l.Logger.Warn("reconcile step failed", "step", step.String(), "error", err)
			return
		}
	}
}

func (l *Loop) take(s Step) error {
	r := l.Raft
	id, addr := ServerID(s.Server.ID), raft.ServerAddress(s.Server.Addr)
	switch s.Kind {
	case Commit:
		if l.Hooks.BeforeCommit != nil {
			l.Hooks.BeforeCommit(s.Change)
		}
		f := r.Apply(s.Change.Encode(), timeout)
		if err := f.Error(); err != nil {
			return err
		}
		res, _ := f.Response().(fsm.Result)
		if res.Err != nil {
			return res.Err
		}
		if l.Hooks.AfterCommit != nil {
			l.Hooks.AfterCommit(s.Change, res.View)
		}
		return nil
	case AddNonvoter:
		return r.AddNonvoter(id, addr, 0, timeout).Error()
	case Promote:
		return r.AddVoter(id, addr, 0, timeout).Error()
	case Demote:
		return r.DemoteVoter(id, 0, timeout).Error()
	case Remove:
		return r.RemoveServer(id, 0, timeout).Error()
	}
	return nil
}

// dropSilentJoiners removes from s.Alive the peers outside the view that do
// not answer a direct check, so that a crashed peer whose death this
// leader's memberlist has not noticed yet is not added back.
func (l *Loop) dropSilentJoiners(s *State) {
	var joiners []int
	for id := range s.Alive {
		if !s.View.Contains(id) {
			joiners = append(joiners, id)
		}
	}
	if len(joiners) == 0 {
		return
	}
	answering := map[int]bool{}
	for _, id := range l.Members.Answering(joiners) {
		answering[id] = true
	}
	for _, id := range joiners {
		if !answering[id] {
			delete(s.Alive, id)
		}
	}
}
