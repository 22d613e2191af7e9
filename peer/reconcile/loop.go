package reconcile

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/peer/fsm"
	"roster/peer/metrics"
)

// Membership is what the loop needs from failure detection.
type Membership interface {
	// Alive maps the ids of the hostsfile peers seen alive to their Raft
	// addresses. It must be safe for concurrent use.
	Alive() map[int]string
	// Changed delivers a signal after the alive set may have changed.
	Changed() <-chan struct{}
	// Answering returns those of ids that answer a direct check now. The
	// loop adds to the view only peers that do. It must be safe for
	// concurrent use: the loop asks from a goroutine of its own.
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

// Raft is what the loop needs from Raft; *raft.Raft satisfies it.
type Raft interface {
	// State is the node's Raft state (leader, follower, shutdown, ...).
	State() raft.RaftState
	// CurrentTerm is the node's current term.
	CurrentTerm() uint64
	// Barrier completes once every entry before it has been applied.
	Barrier(timeout time.Duration) raft.Future
	// GetConfiguration returns the latest Raft configuration.
	GetConfiguration() raft.ConfigurationFuture
	// Apply proposes a command to the log.
	Apply(cmd []byte, timeout time.Duration) raft.ApplyFuture
	// AddNonvoter adds a non-voting server, or updates its address.
	AddNonvoter(id raft.ServerID, addr raft.ServerAddress, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	// AddVoter adds a voter, or makes a server one.
	AddVoter(id raft.ServerID, addr raft.ServerAddress, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	// DemoteVoter takes a server's vote away.
	DemoteVoter(id raft.ServerID, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	// RemoveServer removes a server from the configuration.
	RemoveServer(id raft.ServerID, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	// LeaderCh signals changes of leadership.
	LeaderCh() <-chan bool
}

var _ Raft = (*raft.Raft)(nil)

// Loop is the leader's reconcile loop. Build it with all fields set and call
// Run once; it is not safe to call Run twice.
type Loop struct {
	// Raft is this peer's Raft node.
	Raft Raft
	// Self is this peer's id.
	Self int
	// View returns the committed view this peer holds.
	View func() fsm.View
	// Members is failure detection.
	Members Membership
	// MaxVoters caps the number of Raft voters.
	MaxVoters int
	// Tick is how often the loop re-checks with no event (default 250 ms).
	Tick time.Duration
	// Logger receives the loop's diagnostics.
	Logger hclog.Logger
	// Hooks act around view commits.
	Hooks Hooks
	// Metrics counts the steps taken (nil: none).
	Metrics *metrics.Peer
	// Lives, if set, returns the life number each alive peer announces
	// (State.Lives); it must be safe for concurrent use.
	Lives func() map[int]uint64
	// Left, if set, returns the peers that left gracefully (State.Left); it
	// must be safe for concurrent use.
	Left func() map[int]bool
	// Cluster, if set, returns the cluster id the first view's change
	// carries (called on the loop's goroutine, only for that change).
	Cluster func() string
	// Guests, if set, returns the alive peers to register (State.Guests),
	// and NextID the id their registration starts at (State.NextID).
	Guests func() []string
	NextID func() int

	// Gone, if set, maps the peers failure detection has evidence against
	// (confirmed down by a direct check, or left) to the life number of the
	// process the evidence is about (0: unknown); see
	// detector.Detector.Gone. With it, a view member missing from Alive is
	// removed at once only with evidence about the life the view holds it
	// with; one without is kept for Grace (State.Unseen). Without it, every
	// member missing from Alive is removed at once. It must be safe for
	// concurrent use.
	Gone func() map[int]uint64
	// Grace is how long a leader keeps a view member it has no evidence
	// against (see Gone) while failure detection does not see it (default
	// DefaultGrace).
	Grace time.Duration

	// missingSince is when this leadership first found each view member
	// missing without evidence (the loop's goroutine only); cleared at
	// each new term.
	missingSince map[int]time.Time

	// silentAt is when each joiner last failed a direct check (the loop's
	// goroutine only): it is not asked again for silentRetry.
	silentAt map[int]time.Time
	// doubted holds the joiners that failed a direct check and have not been
	// in a view since (the loop's goroutine only): they are asked before
	// they are added to the configuration.
	doubted map[int]bool
	// unsettled is the AddNonvoter Raft has taken but not committed yet,
	// of server unsettledServer (the loop's goroutine only): a view change
	// may follow it at once, any other step waits for it (see take).
	unsettled       *op
	unsettledServer Server
}

// silentRetry is how long a joiner that did not answer a direct check
// waits before the leader asks it again. Passes follow every membership
// event; asking every silent joiner in each made a starved leader send
// thousands of pings a second to peers that could not answer in time.
const silentRetry = time.Second

// DefaultGrace is Loop.Grace's default. It covers the time a peer that came
// back at a new address takes to reach a new leader's memberlist: an alive
// message at a new address for a name memberlist still holds alive at its
// old one is refused, and the next chance is the peer's re-join or a state
// exchange (memberlist's push/pull, every 15 s, see detector's tune). A
// crashed peer is not delayed by it: the direct check that confirms it down
// (about a second after memberlist's verdict) is the evidence, and a
// leaver's leave is.
const DefaultGrace = 20 * time.Second

// ServerID is the Raft server id of peer id.
func ServerID(id int) raft.ServerID { return raft.ServerID(strconv.Itoa(id)) }

// timeout bounds each Raft operation of the loop, from its start until its
// future completes. Raft's own timeout argument only bounds the enqueueing
// of a request, not its completion.
const timeout = 5 * time.Second

// leadPoll is how often a wait on a Raft future checks that this peer still
// leads and that Raft has not shut down.
const leadPoll = 50 * time.Millisecond

// errTimeout is returned for a Raft operation that did not complete within
// timeout.
var errTimeout = errors.New("raft operation timed out")

// op is a Raft call under way on a goroutine of its own (see begin).
type op struct {
	at    time.Time     // when the call was made
	taken chan struct{} // closed once the call has returned its future
	done  chan struct{} // closed once the future has completed
	f     raft.Future   // set before taken is closed
	err   error         // set before done is closed
}

// begin makes a Raft call on a goroutine of its own, since Raft may block
// it too (the enqueueing of a request waits for Raft's main loop). That
// goroutine ends when Raft completes the future.
func begin(call func() raft.Future) *op {
	o := &op{at: time.Now(), taken: make(chan struct{}), done: make(chan struct{})}
	go func() {
		o.f = call()
		close(o.taken)
		o.err = o.f.Error()
		close(o.done)
	}()
	return o
}

// wait waits until ready is closed, for at most timeout from the call o,
// giving up early when ctx is done, when Raft shuts down, or (with leading
// set) when this peer stops leading.
func (l *Loop) wait(ctx context.Context, leading bool, o *op, ready <-chan struct{}) error {
	deadline := time.NewTimer(time.Until(o.at.Add(timeout)))
	defer deadline.Stop()
	poll := time.NewTicker(leadPoll)
	defer poll.Stop()
	for {
		select {
		case <-ready:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errTimeout
		case <-poll.C:
			switch st := l.Raft.State(); {
			case st == raft.Shutdown:
				return raft.ErrRaftShutdown
			case leading && st != raft.Leader:
				return raft.ErrLeadershipLost
			}
		}
	}
}

// do makes a Raft call and waits for its future to complete, for at most
// timeout (see wait). A call given up on may still complete later: every
// step is planned again from the committed state, and a view change applies
// only to the view it was computed from, so nothing is done twice.
func (l *Loop) do(ctx context.Context, leading bool, call func() raft.Future) (raft.Future, error) {
	o := begin(call)
	if err := l.wait(ctx, leading, o, o.done); err != nil {
		return nil, err
	}
	return o.f, o.err
}

// settle waits for the configuration change left unsettled by take (see
// Loop.unsettled), if any, and returns its error.
func (l *Loop) settle(ctx context.Context) error {
	o := l.unsettled
	if o == nil {
		return nil
	}
	l.unsettled = nil
	if err := l.wait(ctx, true, o, o.done); err != nil {
		return err
	}
	return o.err
}

// Run reconciles while this peer leads, until ctx is done.
func (l *Loop) Run(ctx context.Context) {
	period := l.tick()
	t := time.NewTicker(period)
	defer t.Stop()
	ticking := true
	var readyTerm uint64 // the term whose Barrier has completed
	for {
		calm := false
		if l.Raft.State() == raft.Leader {
			term := l.Raft.CurrentTerm()
			if term != readyTerm {
				// Apply everything earlier leaders committed before judging the view.
				if _, err := l.do(ctx, true, func() raft.Future { return l.Raft.Barrier(timeout) }); err != nil {
					l.Logger.Warn("barrier failed", "error", err)
				} else {
					readyTerm = term
					clear(l.missingSince) // a new leadership gives every member its grace
				}
			}
			if readyTerm == term {
				calm = l.reconcile(ctx) && l.calm()
			}
		}
		// A follower has nothing to reconcile: its ticker stops until Raft
		// makes it the leader (LeaderCh), so an idle follower does not wake
		// for it. A leader with nothing waiting on time ticks at calmTick.
		want := l.tick()
		if calm {
			want = max(want, calmTick)
		}
		if leading := l.Raft.State() == raft.Leader; leading && (!ticking || want != period) {
			period = want
			t.Reset(period)
			ticking = true
		} else if !leading && ticking {
			t.Stop()
			ticking = false
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
// peer stops leading; it reports whether it ended with nothing to do.
//
// A peer enters the view only if it answers a direct ping now (see
// Membership.Answering): memberlist may still list a peer that crashed a
// moment ago. Each joiner is asked once when the pass first sees it, and
// the joiners of a view change once more right before it is proposed (an
// answer within the last second counts). Asking every joiner before every
// step instead made n joiners cost n² pings, which starved a leader adding
// a hundred peers at once.
//
// The first question runs while the joiner is added to the Raft
// configuration as a non-voter (Raft then starts sending it the log, which
// takes two round trips to a new server); the view change that admits it
// waits for the answer. A joiner that does not answer is left out of the
// view and taken out of the configuration again, and is doubted: until it
// is in a view, it is asked before it is added to the configuration, so a
// silent peer that memberlist keeps listing costs pings, not configuration
// changes.
func (l *Loop) reconcile(ctx context.Context) (done bool) {
	checked := map[int]bool{} // joiners asked in this pass
	silent := map[int]bool{}  // joiners that did not answer in this pass (or just before)
	for id, at := range l.silentAt {
		if time.Since(at) < silentRetry {
			silent[id], checked[id] = true, true
		} else {
			delete(l.silentAt, id)
		}
	}
	var asking *question // the joiners being asked, if any
	defer func() {
		if err := l.settle(ctx); err != nil {
			l.Logger.Warn("reconcile step failed", "step", "add-nonvoter", "error", err)
			done = false
		}
	}()
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		f, err := l.do(ctx, false, func() raft.Future { return l.Raft.GetConfiguration() })
		if err != nil {
			l.Logger.Warn("get configuration", "error", err)
			return
		}
		s := State{Self: l.Self, View: l.View(), Alive: l.Members.Alive(), MaxVoters: l.MaxVoters}
		if l.Lives != nil {
			s.Lives = l.Lives()
		}
		if l.Left != nil {
			s.Left = l.Left()
		}
		if l.Guests != nil {
			s.Guests = l.Guests()
		}
		if l.NextID != nil {
			s.NextID = l.NextID()
		}
		for _, srv := range f.(raft.ConfigurationFuture).Configuration().Servers {
			id, err := strconv.Atoi(string(srv.ID))
			if err != nil {
				continue
			}
			s.Config = append(s.Config, Server{ID: id, Addr: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
		}
		if l.unsettled != nil {
			s.Config = withServer(s.Config, l.unsettledServer)
		}
		if _, ok := s.Alive[l.Self]; !ok {
			// Failure detection has not seen itself yet; never remove ourselves.
			return
		}
		for id := range l.doubted {
			if s.View.Contains(id) {
				delete(l.doubted, id)
			}
		}
		if s.View.ID != 0 && asking == nil {
			// The first view holds the leader alone: no joiner to ask yet.
			asking = l.askJoiners(s, checked)
			if asking != nil && asking.doubted {
				l.hear(ctx, asking, silent)
				asking = nil
			}
		}
		for id := range silent {
			delete(s.Alive, id)
		}
		s.Unseen = l.unseen(s)
		step, ok := Next(s)
		if (!ok || step.Kind == Commit) && asking != nil {
			if removal, ok := removalFirst(s, asking); ok {
				// A member gone does not wait for the joiners' answers
				// (a joiner that crashed waits a whole probe timeout).
				step = removal
			} else {
				// Plan again with the answers.
				l.hear(ctx, asking, silent)
				asking = nil
				continue
			}
		}
		if !ok {
			return true
		}
		if step.Kind == Commit && !l.answer(step.Change.Add, silent) {
			continue // a joiner stopped answering: plan again without it
		}
		if step.Kind != Commit {
			if err := l.settle(ctx); err != nil {
				l.Logger.Warn("reconcile step failed", "step", "add-nonvoter", "error", err)
				return
			}
		}
		l.Logger.Debug("reconcile", "step", step.String())
		err = l.take(ctx, step)
		l.Metrics.ReconcileStep(step.Kind.String(), stepResult(err))
		if err != nil {
			if errors.Is(err, fsm.ErrStale) || errors.Is(err, fsm.ErrNoop) || errors.Is(err, fsm.ErrRegistered) {
				continue // the view moved on under us: plan again from it
			}
			l.Logger.Warn("reconcile step failed", "step", step.String(), "error", err)
			return
		}
	}
	return false
}

// unseen returns the members of s.View missing from s.Alive that failure
// detection has no evidence against (see evidence) and that this
// leadership has not missed for Grace yet (State.Unseen); nil when Gone is
// not set. It logs each member it starts keeping, and those whose
// grace has ended (until they are out of the view).
func (l *Loop) unseen(s State) map[int]bool {
	if l.Gone == nil {
		return nil
	}
	grace := l.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	if l.missingSince == nil {
		l.missingSince = map[int]time.Time{}
	}
	gone := l.Gone()
	now := time.Now()
	var out map[int]bool
	missing := map[int]bool{}
	for _, id := range s.View.Members {
		if _, ok := s.Alive[id]; ok || id == s.Self || evidence(s.View, id, gone) {
			continue
		}
		missing[id] = true
		since, ok := l.missingSince[id]
		if !ok {
			since = now
			l.missingSince[id] = now
			l.Logger.Info("view member not seen by failure detection, no evidence of a failure: kept until a check confirms it down or its grace ends",
				"peer", id, "grace", grace)
		}
		if now.Sub(since) < grace {
			if out == nil {
				out = map[int]bool{}
			}
			out[id] = true
		} else {
			l.Logger.Warn("view member not seen for its grace: removing it", "peer", id, "grace", grace)
		}
	}
	for id := range l.missingSince {
		if !missing[id] {
			delete(l.missingSince, id)
		}
	}
	return out
}

// evidence reports whether gone holds evidence against member id of view v
// that is about the life v holds it with: a leave or a crash of an earlier
// life (the view re-admitted it since) is none. Evidence or a view without
// a life number counts.
func evidence(v fsm.View, id int, gone map[int]uint64) bool {
	life, ok := gone[id]
	if !ok {
		return false
	}
	viewed := v.LifeOf(id)
	return life == 0 || viewed == 0 || life == viewed
}

// calmTick is the leader's tick while nothing waits on time (calm) and the
// last pass found nothing to do: a change of the members wakes the loop at
// once (Membership.Changed), so this tick is only a safety net.
const calmTick = 5 * time.Second

// calm reports whether no step waits on time: no member missing from
// failure detection (its grace runs), no silent joiner to ask again, no
// configuration change to settle.
func (l *Loop) calm() bool {
	return len(l.missingSince) == 0 && len(l.silentAt) == 0 && l.unsettled == nil
}

// tick returns Tick or its default.
func (l *Loop) tick() time.Duration {
	if l.Tick == 0 {
		return 250 * time.Millisecond
	}
	return l.Tick
}

// take takes one step and waits for Raft to complete it (see do), except
// an AddNonvoter: it waits only until Raft has taken it (appended it to the
// leader's log and started replicating to the server), and leaves it in
// l.unsettled. The view change that admits a joiner then follows at once,
// in the entry after the configuration's, rather than a commit round trip
// later; the joiner receives both, and both commit together. Any other
// step first waits for the unsettled one (Raft takes one configuration
// change at a time anyway), and so does the end of the pass.
func (l *Loop) take(ctx context.Context, s Step) error {
	r := l.Raft
	id, addr := ServerID(s.Server.ID), raft.ServerAddress(s.Server.Addr)
	var call func() raft.Future
	switch s.Kind {
	case Commit:
		return l.commit(ctx, s.Change)
	case Register:
		return l.register(ctx, s.Register)
	case AddNonvoter:
		o := begin(func() raft.Future { return r.AddNonvoter(id, addr, 0, timeout) })
		if err := l.wait(ctx, true, o, o.taken); err != nil {
			return err
		}
		l.unsettled, l.unsettledServer = o, s.Server
		return nil
	case Promote:
		call = func() raft.Future { return r.AddVoter(id, addr, 0, timeout) }
	case Demote:
		call = func() raft.Future { return r.DemoteVoter(id, 0, timeout) }
	case Remove:
		call = func() raft.Future { return r.RemoveServer(id, 0, timeout) }
	default:
		return nil
	}
	_, err := l.do(ctx, true, call)
	return err
}

// withServer returns config with srv added as a non-voter, or with its
// address updated: the configuration Raft holds once it has appended the
// unsettled AddNonvoter of srv. Raft's GetConfiguration returns the latest
// configuration, but Raft's main loop may not have appended a change it
// has taken yet; whatever the loop asks of Raft next is handled after it.
func withServer(config []Server, srv Server) []Server {
	out := make([]Server, 0, len(config)+1)
	found := false
	for _, c := range config {
		if c.ID == srv.ID {
			c.Addr, found = srv.Addr, true
		}
		out = append(out, c)
	}
	if !found {
		out = append(out, Server{ID: srv.ID, Addr: srv.Addr})
	}
	return out
}

// commit commits a view change. A view change that follows an unsettled
// AddNonvoter Raft has already refused is not proposed: the next plan
// starts again from the configuration.
func (l *Loop) commit(ctx context.Context, c fsm.Change) error {
	if o := l.unsettled; o != nil {
		select {
		case <-o.done:
			if err := l.settle(ctx); err != nil {
				return err
			}
		default:
		}
	}
	if c.Base == 0 && l.Cluster != nil {
		c.Cluster = l.Cluster()
	}
	if l.Hooks.BeforeCommit != nil {
		l.Hooks.BeforeCommit(c)
	}
	f, err := l.do(ctx, true, func() raft.Future { return l.Raft.Apply(c.Encode(), timeout) })
	if err != nil {
		return err
	}
	res, _ := f.(raft.ApplyFuture).Response().(fsm.Result)
	if res.Err != nil {
		return res.Err
	}
	l.nudge(ctx)
	if l.Hooks.AfterCommit != nil {
		l.Hooks.AfterCommit(c, res.View)
	}
	return nil
}

// register commits a registration of peers outside the hostsfile.
func (l *Loop) register(ctx context.Context, reg fsm.Register) error {
	f, err := l.do(ctx, true, func() raft.Future { return l.Raft.Apply(reg.Encode(), timeout) })
	if err != nil {
		return err
	}
	if res, _ := f.(raft.ApplyFuture).Response().(fsm.Result); res.Err != nil {
		return res.Err
	}
	l.Logger.Info("registered peers", "names", reg.Names, "first_id", reg.First)
	return nil
}

// nudge makes the followers learn at once that the last entry committed. A
// follower learns the commit index from the leader's next AppendEntries that
// is not a heartbeat: the next entry, or Raft's CommitTimeout when the log
// is idle. The CommitTimeout is long (a short one keeps an idle leader busy
// sending empty AppendEntries to every follower), so after a view change
// the loop appends a Barrier, an entry the FSM never sees, which carries the
// commit to every follower within a round trip. It waits only until Raft
// takes the Barrier, not for its commit, so the configuration steps that
// follow a view change are not delayed.
func (l *Loop) nudge(ctx context.Context) {
	taken := make(chan struct{})
	go func() {
		l.Raft.Barrier(timeout) // returns once enqueued, or after timeout
		close(taken)
	}()
	select {
	case <-taken:
	case <-ctx.Done():
	}
}

// question is a direct check of joiners under way (see askJoiners).
type question struct {
	ids       []int
	doubted   bool       // one of ids is doubted (see Loop.doubted)
	answering chan []int // receives those of ids that answer
}

// removalFirst returns the view change planned without the joiners being
// asked, if it only removes members.
func removalFirst(s State, asking *question) (Step, bool) {
	alive := maps.Clone(s.Alive)
	for _, id := range asking.ids {
		delete(alive, id)
	}
	s.Alive = alive
	step, ok := Next(s)
	if !ok || step.Kind != Commit || len(step.Change.Add) > 0 || len(step.Change.Del) == 0 {
		return Step{}, false
	}
	return step, true
}

// askJoiners starts asking the peers of s.Alive outside the view that this
// pass has not asked yet whether they answer; it returns nil when there is
// no one to ask. The answers are read with hear.
func (l *Loop) askJoiners(s State, checked map[int]bool) *question {
	q := &question{answering: make(chan []int, 1)}
	for id := range s.Alive {
		if !s.View.Contains(id) && !checked[id] && id != l.Self {
			q.ids = append(q.ids, id)
			q.doubted = q.doubted || l.doubted[id]
			checked[id] = true
		}
	}
	if len(q.ids) == 0 {
		return nil
	}
	go func() { q.answering <- l.Members.Answering(q.ids) }()
	return q
}

// hear waits for the answers to q (or for ctx to end) and records the
// joiners that did not answer as in answer.
func (l *Loop) hear(ctx context.Context, q *question, silent map[int]bool) {
	answering := map[int]bool{}
	select {
	case ids := <-q.answering:
		for _, id := range ids {
			answering[id] = true
		}
	case <-ctx.Done():
		return
	}
	for _, id := range q.ids {
		if !answering[id] {
			l.recordSilent(id, silent)
		}
	}
}

// recordSilent records a joiner that did not answer a direct check.
func (l *Loop) recordSilent(id int, silent map[int]bool) {
	silent[id] = true
	if l.silentAt == nil {
		l.silentAt = map[int]time.Time{}
	}
	l.silentAt[id] = time.Now()
	if l.doubted == nil {
		l.doubted = map[int]bool{}
	}
	l.doubted[id] = true
}

// answer reports whether every peer of ids, the leader aside, answers a
// direct check now; those that do not are recorded in silent.
func (l *Loop) answer(ids []int, silent map[int]bool) bool {
	var ask []int
	for _, id := range ids {
		if id != l.Self {
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return true
	}
	answering := map[int]bool{}
	for _, id := range l.Members.Answering(ask) {
		answering[id] = true
	}
	all := true
	for _, id := range ask {
		if !answering[id] {
			l.recordSilent(id, silent)
			all = false
		}
	}
	return all
}
