package service

import (
	"context"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"time"

	"roster/peer/api"
	"roster/peer/groups"
)

// Liveness limits.
const (
	// maxChecks bounds the worker checks in flight on one owner.
	maxChecks = 256
	// maxConnects bounds the raw connects in flight (their sockets): a
	// client due while that many are pending (clients that do not answer
	// within the check's timeout, by the thousand) is skipped this turn,
	// neither a success nor a miss, rather than failed for want of a socket.
	maxConnects = 4096
	// viewPoll is how often the owner looks for a new view (group changes
	// wake it at once).
	viewPoll = 100 * time.Millisecond
	// indirectPeers is how many other peers an owner asks to check a client
	// it cannot reach before it removes it.
	indirectPeers = 2
)

// tracked is one client this peer owns. Its fields are guarded by
// liveness.mu.
type tracked struct {
	key  clientKey
	addr string
	inc  uint64
	// tg is addr parsed for a raw connect when fast is set (IP:port, no
	// custom dialer, on Linux); other checks are dialled by a worker.
	tg   target
	fast bool
	// misses counts checks missed in a row.
	misses int
	// slot and pos are its place in the wheel (pos -1: not in it).
	slot, pos int
	// busy is set while a check or a removal is in flight: a turn of the
	// wheel that comes meanwhile adds no second check.
	busy bool
	// keepalive is when a keepalive last reached this owner.
	keepalive time.Time
	// gen is the resync that last saw it owned here.
	gen uint64
	// gone is set when the client is no longer tracked.
	gone bool
	// cutOff is set while the client answers other peers but not this
	// one (logged once).
	cutOff bool
}

// liveness is the owner's side: it checks every client this peer owns
// under the committed view once every interval, and commits the removal of
// an incarnation that missed its checks misses times in a row (and that
// other peers could not reach either). Miss counts are soft state: a new
// owner starts from zero.
//
// The schedule is a wheel (see wheel.go) that one goroutine, run, turns
// once a tick: the clients of the slots passed are due. A client with
// IP:port is checked from run itself by a raw non-blocking connect
// (connector: no goroutine, no timer, no allocation per check, one poll(2)
// a tick for all connects in flight); a keepalive within the interval
// stands for the check. Checks that need more (an http:// address, a host
// name, a custom dialer, and the last check before a removal, which also
// asks other peers) go to workers, at most maxChecks at once; a removal is
// committed from its own goroutine. Safe for concurrent use; run runs once.
type liveness struct {
	s       *Service
	mu      sync.Mutex
	clients map[clientKey]*tracked
	wheel   *wheel
	// backlog holds the worker checks due while every worker was busy.
	backlog []job
	jobs    chan job // to the workers; never more than maxChecks queued
	wake    chan struct{}
	wg      sync.WaitGroup
	// The view and groups index the tracked set was computed from, and
	// the number of resyncs.
	viewID, index, gen uint64
	synced             bool
	// busy counts checks handed to workers and not finished; workers
	// counts the workers started (they live until the service stops, so
	// that their stacks, grown by a dial, are reused).
	busy, workers int

	// Owned by run: the connects in flight (at most maxConnects) and
	// scratch slices reused from one tick to the next.
	conn        connector
	maxConnects int
	due         []*tracked
	starts      []job
	results     []verdictOf
}

// job is one check: for a worker, or a raw connect started by run.
type job struct {
	t      *tracked
	addr   string
	inc    uint64
	misses int
	// others is set when the direct check already failed (a raw connect)
	// and only other peers are left to ask before a removal.
	others bool
}

// verdictOf is the outcome of one check of t's incarnation inc.
type verdictOf struct {
	t         *tracked
	inc       uint64
	ok, final bool
}

func newLiveness(s *Service) *liveness {
	return &liveness{
		s: s, clients: map[clientKey]*tracked{}, jobs: make(chan job, maxChecks), wake: make(chan struct{}, 1),
		wheel: newWheel(s.cfg.Interval, dispatchTick(s.cfg.Interval), time.Now()), maxConnects: maxConnects,
	}
}

func (l *liveness) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// dispatchTick returns the wheel's tick: a fiftieth of the interval, from
// 2 ms to 20 ms. Waking once per tick rather than once per check keeps an
// owner of 10,000 clients (2,000 checks a second at 5 s) cheap: 50 wakeups
// a second of 40 checks each; a check starts at most a tick late.
func dispatchTick(interval time.Duration) time.Duration {
	return min(max(interval/50, 2*time.Millisecond), 20*time.Millisecond)
}

// run turns the wheel until ctx is done, then waits for the checks in
// flight. The owned set is recomputed at most once a tick after the groups
// change, and when the view changes (looked for every viewPoll).
func (l *liveness) run(ctx context.Context) {
	defer l.wg.Wait()
	defer l.conn.closeAll()
	poll := time.NewTicker(viewPoll)
	defer poll.Stop()
	every := l.wheel.Tick()
	tick := time.NewTicker(every)
	defer tick.Stop()
	_, changed := l.s.cfg.State.Index()
	l.resync()
	dirty, ticking, polling := false, true, true
	for {
		// An owner of no client has nothing to check: its ticker stops
		// (an idle peer wakes 50 times a second less) until the groups or
		// the view change.
		if idle := !dirty && l.idle(); idle && ticking {
			tick.Stop()
			ticking = false
		} else if !idle && !ticking {
			tick.Reset(every)
			ticking = true
		}
		// With no client in any group, a view change moves nothing here:
		// the view is not polled until a group gains a client.
		if _, clients := l.s.cfg.State.Size(); clients == 0 && polling {
			poll.Stop()
			polling = false
		} else if clients > 0 && !polling {
			poll.Reset(viewPoll)
			polling = true
			dirty = true // the view may have changed meanwhile
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			_, changed = l.s.cfg.State.Index()
			dirty = true
		case <-poll.C:
			if viewID, _ := l.s.cfg.Members(); viewID != l.syncedView() {
				dirty = true
			}
		case <-tick.C:
			if dirty {
				dirty = false
				l.resync()
			}
			l.turn(ctx, time.Now())
		case <-l.wake:
			l.mu.Lock()
			l.dispatch(ctx)
			l.mu.Unlock()
		}
	}
}

// idle reports whether this owner tracks no client and has no check in
// flight or waiting. Called by run only.
func (l *liveness) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients) == 0 && len(l.backlog) == 0 && l.conn.pending() == 0
}

// syncedView returns the view id the owned set was computed from.
func (l *liveness) syncedView() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.viewID
}

// resync recomputes the set of owned clients when the view or the groups
// changed: a client that moved here starts with no misses and a first check
// at a random point of the next interval (see wheel.add); a client that
// moved away or left is dropped (a check in flight for it is ignored).
func (l *liveness) resync() {
	viewID, members := l.s.cfg.Members()
	index, _ := l.s.cfg.State.Index()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.synced && viewID == l.viewID && index == l.index {
		return
	}
	l.synced, l.viewID, l.index = true, viewID, index
	l.gen++
	self := l.s.cfg.Self
	owner := slices.Contains(members, self)
	l.s.cfg.State.Each(func(group string, m groups.Member) {
		if !owner || groups.Owner(group, m.Client, members) != self {
			return
		}
		k := clientKey{group, m.Client}
		if t := l.clients[k]; t != nil {
			if t.inc == m.Incarnation && t.addr == m.Addr {
				t.gen = l.gen
				return
			}
			l.drop(t)
		}
		t := &tracked{key: k, addr: m.Addr, inc: m.Incarnation, pos: -1, gen: l.gen}
		if l.s.cfg.Dial == nil {
			t.tg, t.fast = parseTarget(m.Addr)
		}
		l.clients[k] = t
		l.wheel.add(t)
	})
	for _, t := range l.clients {
		if t.gen != l.gen {
			l.drop(t)
		}
	}
}

// drop stops tracking t; the caller holds l.mu.
func (l *liveness) drop(t *tracked) {
	t.gone = true
	l.wheel.remove(t)
	delete(l.clients, t.key)
}

// turn moves the wheel to now and checks the clients due: raw connects
// from here (the system calls without the lock), the others through the
// workers; then it collects the connects that ended.
func (l *liveness) turn(ctx context.Context, now time.Time) {
	interval := l.s.cfg.Interval
	l.mu.Lock()
	l.due = l.wheel.advance(now, l.due[:0])
	starts := l.starts[:0]
	room := l.maxConnects - l.conn.pending()
	for _, t := range l.due {
		if t.busy {
			continue
		}
		if now.Sub(t.keepalive) < interval {
			// A keepalive reached this owner within the interval: that
			// is this check (keepalive already reset the misses).
			continue
		}
		j := job{t: t, addr: t.addr, inc: t.inc, misses: t.misses}
		if t.fast && (t.misses == 0 || t.misses+1 < l.s.cfg.Misses) {
			if len(starts) >= room {
				continue
			}
			t.busy = true
			starts = append(starts, j)
		} else {
			t.busy = true
			l.backlog = append(l.backlog, j)
		}
	}
	clear(l.due)
	l.dispatch(ctx)
	misses := l.s.cfg.Misses
	l.mu.Unlock()

	results := l.results[:0]
	deadline := now.Add(l.s.probeTimeout())
	for _, j := range starts {
		final := j.misses+1 >= misses
		if done, ok := l.conn.start(j.t.tg, j.t, j.inc, final, deadline); done {
			results = append(results, verdictOf{t: j.t, inc: j.inc, ok: ok, final: final})
		}
	}
	clear(starts)
	l.starts = starts[:0]
	l.conn.collect(time.Now(), func(f inFlight, ok bool) {
		results = append(results, verdictOf{t: f.t, inc: f.inc, ok: ok, final: f.final})
	})
	if len(results) == 0 {
		l.results = results
		return
	}
	l.mu.Lock()
	for _, r := range results {
		if !r.ok && r.final {
			// The last miss before a removal: ask other peers first.
			l.backlog = append(l.backlog, job{t: r.t, addr: r.t.addr, inc: r.inc, misses: r.t.misses, others: true})
			continue
		}
		l.record(ctx, r.t, r.inc, r.ok, false)
	}
	l.dispatch(ctx)
	l.mu.Unlock()
	clear(results)
	l.results = results[:0]
}

// dispatch hands the waiting worker checks to the workers, as far as the
// bound on checks in flight allows (when it is reached, the next check to
// end wakes run), starting a worker when all are busy. The caller holds
// l.mu.
func (l *liveness) dispatch(ctx context.Context) {
	n := 0
	for ; n < len(l.backlog) && l.busy < maxChecks; n++ {
		j := l.backlog[n]
		if j.t.gone {
			continue
		}
		l.busy++
		if l.busy > l.workers {
			l.workers++
			l.wg.Add(1)
			go l.worker(ctx)
		}
		l.jobs <- j
	}
	rest := copy(l.backlog, l.backlog[n:])
	clear(l.backlog[rest:])
	l.backlog = l.backlog[:rest]
}

// worker runs checks until ctx is done.
func (l *liveness) worker(ctx context.Context) {
	defer l.wg.Done()
	for {
		select {
		case j := <-l.jobs:
			l.check(ctx, j)
		case <-ctx.Done():
			return
		}
	}
}

// check runs one worker check and records the verdict.
func (l *liveness) check(ctx context.Context, j job) {
	final := j.misses+1 >= l.s.cfg.Misses
	var ok, cutOff bool
	if j.others {
		ok = l.indirect(ctx, j.t.key, j.inc, l.s.probeTimeout())
		cutOff = ok
	} else {
		ok, cutOff = l.verdict(ctx, j.t.key, j.addr, j.inc, j.misses, final)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy--
	if len(l.backlog) > 0 {
		l.signal()
	}
	if ctx.Err() != nil {
		return
	}
	l.record(ctx, j.t, j.inc, ok, cutOff)
}

// record applies the verdict of a check of t's incarnation inc; after
// misses in a row it commits the removal of that incarnation from a
// goroutine of its own. The caller holds l.mu.
func (l *liveness) record(ctx context.Context, t *tracked, inc uint64, ok, cutOff bool) {
	s := l.s
	t.busy = false
	if t.gone || t.inc != inc {
		return
	}
	switch {
	case ok && cutOff:
		// Other peers reach it, this owner does not: keep it, and keep
		// asking them at every check.
		t.misses = s.cfg.Misses - 1
		if !t.cutOff {
			t.cutOff = true
			s.log.Info("client answers other peers but not its owner; kept", "group", t.key.group, "client", t.key.client, "addr", t.addr)
		}
	case ok:
		t.misses, t.cutOff = 0, false
	default:
		t.misses++
	}
	if t.misses < s.cfg.Misses || ctx.Err() != nil {
		return
	}
	t.busy = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		s.log.Info("client missed its checks; removing it", "group", t.key.group, "client", t.key.client, "incarnation", inc, "misses", s.cfg.Misses)
		err := s.expire(ctx, t.key.group, t.key.client, inc)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("removal of a client failed; will retry", "group", t.key.group, "client", t.key.client, "error", err)
		}
		// Committed: the state change drops it soon. Not committed: the
		// next check (a miss again) retries.
		l.mu.Lock()
		t.busy = false
		l.mu.Unlock()
	}()
}

// verdict checks a client from here and, when this may be its last miss,
// through other peers too. ok is true when someone reached it; cutOff when
// only other peers did.
func (l *liveness) verdict(ctx context.Context, key clientKey, addr string, inc uint64, misses int, final bool) (ok, cutOff bool) {
	s := l.s
	timeout := s.probeTimeout()
	if !final {
		return s.probe(ctx, addr, timeout) == nil, false
	}
	if misses == 0 {
		// A first miss that would already be the last (--client-misses 1):
		// ask the others only if the direct check fails.
		if s.probe(ctx, addr, timeout) == nil {
			return true, false
		}
		return l.indirect(ctx, key, inc, timeout), true
	}
	// A client that already missed: check it directly and through other
	// peers at once, so that the removal is not delayed.
	direct := make(chan bool, 1)
	go func() { direct <- s.probe(ctx, addr, timeout) == nil }()
	others := l.indirect(ctx, key, inc, timeout)
	if <-direct {
		return true, false
	}
	return others, others
}

// indirect asks up to indirectPeers other peers of the view to check the
// client; it reports whether one of them reached this incarnation.
func (l *liveness) indirect(ctx context.Context, key clientKey, inc uint64, timeout time.Duration) bool {
	s := l.s
	_, members := s.cfg.Members()
	var others []int
	for _, id := range members {
		if id != s.cfg.Self {
			others = append(others, id)
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	others = others[:min(len(others), indirectPeers)]
	results := make(chan bool, len(others))
	for _, id := range others {
		go func() {
			addr, ok := s.cfg.PeerAPI(id)
			if !ok {
				results <- false
				return
			}
			var out api.CheckResponse
			path := "/v1/groups/" + url.PathEscape(key.group) + "/members/" + url.PathEscape(key.client) + "/check"
			err := s.forward(ctx, addr, "POST", path, api.Origin{}, timeout+300*time.Millisecond, 0, &out)
			results <- err == nil && out.OK && out.Incarnation == inc
		}()
	}
	reached := false
	for range others {
		if <-results {
			reached = true
		}
	}
	return reached
}

// keepalive records a keepalive of a client this peer owns; it reports
// whether the client is tracked here (with that incarnation, if not 0).
func (l *liveness) keepalive(key clientKey, inc uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.clients[key]
	if t == nil || inc != 0 && t.inc != inc {
		return false
	}
	t.keepalive = time.Now()
	t.misses, t.cutOff = 0, false
	return true
}

// owned returns how many clients this peer checks.
func (l *liveness) owned() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
