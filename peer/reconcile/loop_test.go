package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/internal/testkit"
	"roster/peer/fsm"
)

// deadline bounds every wait of these tests; they poll for a condition and
// never assert on a fixed window.
const deadline = 10 * time.Second

// future is a completed (or, with block set, pending) Raft future.
type future struct {
	block <-chan struct{}
	err   error
	resp  any
	cfg   raft.Configuration
}

func (f *future) Error() error {
	if f.block != nil {
		<-f.block
	}
	return f.err
}
func (f *future) Index() uint64                     { return 0 }
func (f *future) Response() any                     { return f.resp }
func (f *future) Configuration() raft.Configuration { return f.cfg }

// fakeRaft is a one-node Raft whose log applies straight to a real FSM.
type fakeRaft struct {
	fsm      *fsm.FSM
	leaderCh chan bool
	never    chan struct{} // blocks the futures of hung operations; closed at cleanup

	mu       sync.Mutex
	state    raft.RaftState
	term     uint64
	servers  map[raft.ServerID]raft.Server
	ops      []string         // the operations asked for, in order
	barriers map[uint64]int   // completed barriers per term
	hang     map[string]bool  // operations whose futures never complete
	block    map[string]bool  // operations whose calls never return (a wedged Raft)
	failOnce map[string]error // operations that fail once with this error
	refuse   []error          // results forced on the next Applies
	before   func(f *fsm.FSM) // runs once before the next Apply
	applied  []fsm.Result     // results of the Applies
	calls    map[string]int   // how often each operation was asked for
}

func newFakeRaft(t *testing.T, self int) *fakeRaft {
	f := &fakeRaft{
		fsm:      fsm.New(nil),
		leaderCh: make(chan bool, 1),
		never:    make(chan struct{}),
		state:    raft.Leader,
		term:     1,
		servers:  map[raft.ServerID]raft.Server{},
		barriers: map[uint64]int{},
		hang:     map[string]bool{},
		block:    map[string]bool{},
		failOnce: map[string]error{},
		calls:    map[string]int{},
	}
	f.servers[ServerID(self)] = raft.Server{ID: ServerID(self), Address: raft.ServerAddress(alive(self)[self]), Suffrage: raft.Voter}
	t.Cleanup(func() { close(f.never) })
	return f
}

// op records an operation and returns the future to answer it with, or nil
// when the operation should go ahead. The caller holds f.mu; a blocked
// operation releases it and never returns (until the test ends).
func (f *fakeRaft) op(name, detail string) *future {
	f.ops = append(f.ops, strings.TrimSpace(name+" "+detail))
	f.calls[name]++
	if f.block[name] {
		f.mu.Unlock()
		<-f.never
		f.mu.Lock()
		return &future{err: raft.ErrRaftShutdown}
	}
	if f.hang[name] {
		return &future{block: f.never, err: raft.ErrRaftShutdown}
	}
	if err, ok := f.failOnce[name]; ok {
		delete(f.failOnce, name)
		return &future{err: err}
	}
	return nil
}

func (f *fakeRaft) State() raft.RaftState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeRaft) CurrentTerm() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.term
}

func (f *fakeRaft) LeaderCh() <-chan bool { return f.leaderCh }

func (f *fakeRaft) Barrier(time.Duration) raft.Future {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fut := f.op("barrier", ""); fut != nil {
		return fut
	}
	f.barriers[f.term]++
	return &future{}
}

func (f *fakeRaft) GetConfiguration() raft.ConfigurationFuture {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["get-configuration"]++ // not in ops: the loop reads it before every step
	if f.hang["get-configuration"] {
		return &future{block: f.never}
	}
	var cfg raft.Configuration
	for _, s := range f.servers {
		cfg.Servers = append(cfg.Servers, s)
	}
	return &future{cfg: cfg}
}

func (f *fakeRaft) Apply(cmd []byte, _ time.Duration) raft.ApplyFuture {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fut := f.op("apply", ""); fut != nil {
		return fut
	}
	if f.before != nil {
		f.before(f.fsm)
		f.before = nil
	}
	var res fsm.Result
	if len(f.refuse) > 0 {
		res = fsm.Result{View: f.fsm.View(), Err: f.refuse[0]}
		f.refuse = f.refuse[1:]
	} else {
		res, _ = f.fsm.Apply(&raft.Log{Type: raft.LogCommand, Data: cmd}).(fsm.Result)
	}
	f.applied = append(f.applied, res)
	return &future{resp: res}
}

func (f *fakeRaft) setServer(name string, id raft.ServerID, addr raft.ServerAddress, voter bool) raft.IndexFuture {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fut := f.op(name, string(id)); fut != nil {
		return fut
	}
	s, ok := f.servers[id]
	if !ok {
		s = raft.Server{ID: id, Suffrage: raft.Nonvoter}
	}
	if addr != "" {
		s.Address = addr
	}
	if voter {
		s.Suffrage = raft.Voter
	} else if name == "demote" {
		s.Suffrage = raft.Nonvoter
	}
	f.servers[id] = s
	return &future{}
}

func (f *fakeRaft) AddNonvoter(id raft.ServerID, addr raft.ServerAddress, _ uint64, _ time.Duration) raft.IndexFuture {
	return f.setServer("add-nonvoter", id, addr, false)
}

func (f *fakeRaft) AddVoter(id raft.ServerID, addr raft.ServerAddress, _ uint64, _ time.Duration) raft.IndexFuture {
	return f.setServer("promote", id, addr, true)
}

func (f *fakeRaft) DemoteVoter(id raft.ServerID, _ uint64, _ time.Duration) raft.IndexFuture {
	return f.setServer("demote", id, "", false)
}

func (f *fakeRaft) RemoveServer(id raft.ServerID, _ uint64, _ time.Duration) raft.IndexFuture {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fut := f.op("remove", string(id)); fut != nil {
		return fut
	}
	delete(f.servers, id)
	return &future{}
}

func (f *fakeRaft) set(fn func(f *fakeRaft)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeRaft) get(fn func(f *fakeRaft)) { f.set(fn) }

// opsCopy returns the operations asked for so far.
func (f *fakeRaft) opsCopy() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// voters returns the ids of the voters in the configuration, ascending.
func (f *fakeRaft) voters() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var v []string
	for id, s := range f.servers {
		if s.Suffrage == raft.Voter {
			v = append(v, string(id))
		}
	}
	slices.Sort(v)
	return v
}

// fakeMembers is failure detection with a settable alive set; every alive
// peer answers direct checks, except those in silent.
type fakeMembers struct {
	changed chan struct{}
	mu      sync.Mutex
	alive   map[int]string
	silent  map[int]bool
	asked   map[int]int // direct checks asked, by peer
}

func newFakeMembers(ids ...int) *fakeMembers {
	return &fakeMembers{changed: make(chan struct{}, 1), alive: alive(ids...)}
}

func (m *fakeMembers) Alive() map[int]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int]string, len(m.alive))
	for id, a := range m.alive {
		out[id] = a
	}
	return out
}

func (m *fakeMembers) Changed() <-chan struct{} { return m.changed }

func (m *fakeMembers) Answering(ids []int) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int
	if m.asked == nil {
		m.asked = map[int]int{}
	}
	for _, id := range ids {
		m.asked[id]++
		if _, ok := m.alive[id]; ok && !m.silent[id] {
			out = append(out, id)
		}
	}
	return out
}

func (m *fakeMembers) set(ids ...int) {
	m.mu.Lock()
	m.alive = alive(ids...)
	m.mu.Unlock()
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// startLoop runs a loop until the test ends; stop cancels it and reports
// whether Run returned within the deadline.
func startLoop(t *testing.T, r Raft, m Membership, tick time.Duration) (logs *testkit.SyncBuffer, stop func() bool) {
	logs = &testkit.SyncBuffer{}
	l := &Loop{
		Raft: r, Self: 1, View: r.(*fakeRaft).fsm.View, Members: m, MaxVoters: 5, Tick: tick,
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	stop = func() bool {
		cancel()
		select {
		case <-done:
			return true
		case <-time.After(deadline):
			return false
		}
	}
	t.Cleanup(func() {
		if !stop() {
			t.Error("loop still running at the end of the test")
		}
	})
	return logs, stop
}

func (f *fakeRaft) view() fsm.View { return f.fsm.View() }

// TestLoopJoinsAndRemovals: the loop bootstraps the view, adds joiners (each
// in the configuration as a non-voter before the view that adds it), promotes
// them, and after a crash removes the dead member from the view and then from
// the configuration, one step at a time.
func TestLoopJoinsAndRemovals(t *testing.T) {
	r := newFakeRaft(t, 1)
	m := newFakeMembers(1, 2, 3)
	startLoop(t, r, m, time.Hour) // no ticks: every step follows an event or the step before
	want := fsm.View{ID: 2, Leader: 1, Members: []int{1, 2, 3}}
	testkit.Eventually(t, deadline, "view [1,2,3] with three voters", func() bool {
		return r.view().Equal(want) && slices.Equal(r.voters(), []string{"1", "2", "3"})
	})
	// A barrier first, then one after each view change (it tells the
	// followers at once that the change committed).
	if got, want := r.opsCopy(), []string{"barrier", "apply", "barrier", "add-nonvoter 2", "add-nonvoter 3", "apply", "barrier", "promote 2", "promote 3"}; !slices.Equal(got, want) {
		t.Fatalf("operations %q, want %q", got, want)
	}

	m.set(1, 2) // 3 crashed
	want = fsm.View{ID: 3, Leader: 1, Members: []int{1, 2}}
	testkit.Eventually(t, deadline, "view [1,2] with one voter", func() bool {
		return r.view().Equal(want) && slices.Equal(r.voters(), []string{"1"})
	})
	testkit.Eventually(t, deadline, "3 out of the configuration", func() bool {
		var n int
		r.get(func(f *fakeRaft) { n = len(f.servers) })
		return n == 2
	})
	if got, want := r.opsCopy()[9:], []string{"apply", "barrier", "remove 3", "demote 2"}; !slices.Equal(got, want) {
		t.Fatalf("operations after the crash %q, want %q", got, want)
	}
}

// TestLoopAsksEachJoinerOnce: n peers joining at once are each asked a
// handful of times, not once per step (n² checks starved a leader adding a
// hundred peers), and a joiner that is alive to memberlist but does not
// answer enters no view; it leaves the configuration it entered while it
// was asked, and is not added to it again while it stays silent.
func TestLoopAsksEachJoinerOnce(t *testing.T) {
	const n = 40
	r := newFakeRaft(t, 1)
	r.fsm.Apply(&raft.Log{Type: raft.LogCommand, Data: fsm.Change{Base: 0, Add: []int{1}, Leader: 1}.Encode()})
	m := newFakeMembers(span(1, n+1)...)
	m.silent = map[int]bool{n + 1: true}
	startLoop(t, r, m, time.Hour)
	testkit.Eventually(t, deadline, "every answering joiner in the view", func() bool {
		return slices.Equal(r.view().Members, span(1, n))
	})
	testkit.Eventually(t, deadline, "the silent joiner out of the configuration", func() bool {
		var in bool
		r.get(func(f *fakeRaft) { _, in = f.servers[ServerID(n+1)] })
		return !in
	})
	// Another pass, once its silence is no longer fresh: it is asked first.
	time.Sleep(silentRetry)
	m.set(span(1, n+1)...)
	testkit.Eventually(t, deadline, "the silent joiner asked again", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.asked[n+1] >= 2
	})
	// A later read of the configuration comes after that pass's steps.
	var reads int
	r.get(func(f *fakeRaft) { reads = f.calls["get-configuration"] })
	m.set(span(1, n+1)...)
	testkit.Eventually(t, deadline, "a pass after it", func() bool {
		var now int
		r.get(func(f *fakeRaft) { now = f.calls["get-configuration"] })
		return now > reads
	})
	r.get(func(f *fakeRaft) {
		if got := f.calls["add-nonvoter"]; got != n {
			t.Errorf("%d additions to the configuration, want %d (the silent joiner once)", got, n)
		}
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := 2; id <= n+1; id++ {
		// Asked when first seen and before the view change (the fake
		// keeps no answer fresh); the silent one once per pass.
		if m.asked[id] > 3 {
			t.Errorf("peer %d asked %d times", id, m.asked[id])
		}
	}
	if m.asked[1] != 0 {
		t.Errorf("the leader asked itself %d times", m.asked[1])
	}
}

// TestLoopReplansAfterRefusedChange: a change the FSM refuses because the
// view moved on (another leader's entry got in first) or because it changes
// nothing makes the loop plan again at once, from the new view.
func TestLoopReplansAfterRefusedChange(t *testing.T) {
	for _, c := range []struct {
		name string
		prep func(f *fakeRaft)
	}{
		{"stale", func(f *fakeRaft) {
			// A previous leader's entry adding 3 lands just before ours.
			f.before = func(s *fsm.FSM) {
				s.Apply(&raft.Log{Type: raft.LogCommand, Data: fsm.Change{Base: 1, Add: []int{3}, Leader: 2}.Encode()})
			}
		}},
		{"noop", func(f *fakeRaft) { f.refuse = []error{fsm.ErrNoop} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newFakeRaft(t, 1)
			r.fsm.Apply(&raft.Log{Type: raft.LogCommand, Data: fsm.Change{Base: 0, Add: []int{1, 2}, Leader: 1}.Encode()})
			r.set(func(f *fakeRaft) {
				f.servers["2"] = raft.Server{ID: "2", Address: raft.ServerAddress(alive(2)[2]), Suffrage: raft.Nonvoter}
				f.servers["3"] = raft.Server{ID: "3", Address: raft.ServerAddress(alive(3)[3]), Suffrage: raft.Nonvoter}
				c.prep(f)
			})
			m := newFakeMembers(1, 2, 3)
			// No ticks and no further events: only an immediate re-plan
			// can finish the job.
			logs, _ := startLoop(t, r, m, time.Hour)
			testkit.Eventually(t, deadline, "view with 3 and three voters", func() bool {
				return r.view().Contains(3) && slices.Equal(r.voters(), []string{"1", "2", "3"})
			})
			var applied []fsm.Result
			r.get(func(f *fakeRaft) { applied = slices.Clone(f.applied) })
			if len(applied) == 0 || applied[0].Err == nil {
				t.Fatalf("first apply not refused: %+v", applied)
			}
			if strings.Contains(logs.String(), "reconcile step failed") {
				t.Fatalf("a refused change was reported as a failure:\n%s", logs)
			}
		})
	}
}

// TestLoopStopsWhileRaftHangs is the regression test for a shutdown that
// hung: the loop waited forever on a Raft future that never completed. Run
// must return once its context is cancelled, whichever wait it is in, and
// also when the Raft call itself never returns.
func TestLoopStopsWhileRaftHangs(t *testing.T) {
	for _, c := range []struct {
		op    string
		block bool // the call blocks, rather than its future
	}{
		{"barrier", false}, {"get-configuration", false}, {"apply", false}, {"add-nonvoter", false},
		{"barrier", true}, {"apply", true}, {"add-nonvoter", true},
	} {
		name := c.op
		if c.block {
			name += "-call"
		}
		t.Run(name, func(t *testing.T) {
			r := newFakeRaft(t, 1)
			r.fsm.Apply(&raft.Log{Type: raft.LogCommand, Data: fsm.Change{Base: 0, Add: []int{1}, Leader: 1}.Encode()})
			r.set(func(f *fakeRaft) {
				if c.block {
					f.block[c.op] = true
				} else {
					f.hang[c.op] = true
				}
			})
			m := newFakeMembers(1, 2) // 2 joins: add-nonvoter, then apply
			if c.op == "apply" {
				r.set(func(f *fakeRaft) {
					f.servers["2"] = raft.Server{ID: "2", Address: raft.ServerAddress(alive(2)[2]), Suffrage: raft.Nonvoter}
				})
			}
			_, stop := startLoop(t, r, m, time.Hour)
			testkit.Eventually(t, deadline, c.op+" asked for", func() bool {
				var n int
				r.get(func(f *fakeRaft) { n = f.calls[c.op] })
				return n > 0
			})
			start := time.Now()
			if !stop() {
				t.Fatalf("Run did not return within %v of the cancel while %s hangs", deadline, name)
			}
			t.Logf("Run returned %v after the cancel", time.Since(start))
		})
	}
}

// TestLoopGivesUpOnLeadershipLoss: a step whose future hangs is abandoned
// once the peer stops leading, and the loop keeps serving (it reconciles
// again when it leads again).
func TestLoopGivesUpOnLeadershipLoss(t *testing.T) {
	r := newFakeRaft(t, 1)
	r.fsm.Apply(&raft.Log{Type: raft.LogCommand, Data: fsm.Change{Base: 0, Add: []int{1}, Leader: 1}.Encode()})
	r.set(func(f *fakeRaft) { f.hang["add-nonvoter"] = true })
	m := newFakeMembers(1, 2)
	logs, _ := startLoop(t, r, m, 20*time.Millisecond)
	testkit.Eventually(t, deadline, "add-nonvoter asked for", func() bool {
		var n int
		r.get(func(f *fakeRaft) { n = f.calls["add-nonvoter"] })
		return n > 0
	})
	r.set(func(f *fakeRaft) { f.state = raft.Follower })
	testkit.Eventually(t, deadline, "the step abandoned", func() bool {
		return strings.Contains(logs.String(), raft.ErrLeadershipLost.Error())
	})
	// Leading again in a new term, with Raft working, it finishes the join.
	r.set(func(f *fakeRaft) {
		f.state, f.term = raft.Leader, 2
		delete(f.hang, "add-nonvoter")
	})
	r.leaderCh <- true
	testkit.Eventually(t, deadline, "2 joined", func() bool { return r.view().Contains(2) })
}

// TestLoopBarrierOncePerTerm: a new leader applies a Barrier before its
// first step, once per term, retrying a failed one before any step; rounds
// with nothing to do ask Raft for nothing but the configuration.
func TestLoopBarrierOncePerTerm(t *testing.T) {
	r := newFakeRaft(t, 1)
	r.set(func(f *fakeRaft) {
		f.state = raft.Follower
		f.failOnce["barrier"] = errors.New("barrier failed")
	})
	m := newFakeMembers(1)
	startLoop(t, r, m, 10*time.Millisecond)

	r.set(func(f *fakeRaft) { f.state = raft.Leader })
	r.leaderCh <- true
	testkit.Eventually(t, deadline, "bootstrap view", func() bool { return r.view().ID == 1 })
	// A failed barrier, a barrier, the first step, the barrier after it.
	want := []string{"barrier", "barrier", "apply", "barrier"}
	testkit.Eventually(t, deadline, "the barrier after the first view", func() bool { return len(r.opsCopy()) == len(want) })
	rounds := func() int {
		var n int
		r.get(func(f *fakeRaft) { n = f.calls["get-configuration"] })
		return n
	}
	// Many more rounds in the same term: nothing else asked for.
	before := rounds()
	for i := range 5 {
		m.set(1)
		testkit.Eventually(t, deadline, fmt.Sprintf("round %d", i), func() bool { return rounds() > before+i })
	}
	if got := r.opsCopy(); !slices.Equal(got, want) {
		t.Fatalf("term 1: operations %q, want %q", got, want)
	}
	// A new term: exactly one more barrier.
	r.set(func(f *fakeRaft) { f.term = 2 })
	r.leaderCh <- true
	testkit.Eventually(t, deadline, "term 2 barrier", func() bool {
		var n int
		r.get(func(f *fakeRaft) { n = f.barriers[2] })
		return n == 1
	})
	before = rounds()
	for i := range 3 {
		m.set(1)
		testkit.Eventually(t, deadline, fmt.Sprintf("term 2 round %d", i), func() bool { return rounds() > before+i })
	}
	if got, want := r.opsCopy(), append(want, "barrier"); !slices.Equal(got, want) {
		t.Fatalf("after term 2: operations %q, want %q", got, want)
	}
}

// span returns the ids from..to.
func span(from, to int) []int {
	var out []int
	for id := from; id <= to; id++ {
		out = append(out, id)
	}
	return out
}
