package service

import (
	"container/heap"
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
	// maxChecks bounds the checks in flight on one owner.
	maxChecks = 256
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
	// misses counts checks missed in a row.
	misses int
	// next is when the next check is due; idx its place in the queue (-1
	// while a check or removal is in flight, or once dropped).
	next time.Time
	idx  int
	// keepalive is when a keepalive last reached this owner.
	keepalive time.Time
	// gone is set when the client is no longer tracked.
	gone bool
	// cutOff is set while the client answers other peers but not this
	// one (logged once).
	cutOff bool
}

// liveness is the owner's side: it checks every client this peer owns
// under the committed view, each every interval on a schedule jittered at
// the start, with at most maxChecks in flight, and commits the removal of
// an incarnation that missed its checks misses times in a row (and that
// other peers could not reach either). Miss counts are soft state: a new
// owner starts from zero. Safe for concurrent use; run runs once.
type liveness struct {
	s       *Service
	mu      sync.Mutex
	clients map[clientKey]*tracked
	queue   checkQueue
	jobs    chan job // to the workers; never more than maxChecks queued
	wake    chan struct{}
	wg      sync.WaitGroup
	// The view and groups index the tracked set was computed from.
	viewID, index uint64
	synced        bool
	// starved is set when due checks wait for a free worker.
	starved bool
	// busy counts checks handed to workers and not finished; workers
	// counts the workers started (they live until the service stops, so
	// that their stacks, grown by a dial, are reused).
	busy, workers int
}

// job is one check for a worker.
type job struct {
	t         *tracked
	addr      string
	inc       uint64
	misses    int
	keptAlive bool
}

func newLiveness(s *Service) *liveness {
	return &liveness{s: s, clients: map[clientKey]*tracked{}, jobs: make(chan job, maxChecks), wake: make(chan struct{}, 1)}
}

func (l *liveness) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// dispatchTick returns how often the scheduler starts the checks that are
// due: a fiftieth of the interval, from 2 ms to 20 ms. Waking once per tick
// rather than once per check keeps an owner of 10,000 clients (2,000
// checks a second at 5 s) cheap; a check starts at most a tick late.
func dispatchTick(interval time.Duration) time.Duration {
	return min(max(interval/50, 2*time.Millisecond), 20*time.Millisecond)
}

// run schedules checks until ctx is done, then waits for those in flight.
// The owned set is recomputed at most once a tick after the groups change,
// and when the view changes (looked for every viewPoll).
func (l *liveness) run(ctx context.Context) {
	defer l.wg.Wait()
	poll := time.NewTicker(viewPoll)
	defer poll.Stop()
	every := dispatchTick(l.s.cfg.Interval)
	tick := time.NewTicker(every)
	defer tick.Stop()
	_, changed := l.s.cfg.State.Index()
	l.resync()
	dirty, ticking := false, true
	for {
		// An owner of no client has nothing to dispatch: its ticker stops
		// (an idle peer wakes 50 times a second less) until the groups or
		// the view change, or a check is handed back.
		if idle := !dirty && l.idle(); idle && ticking {
			tick.Stop()
			ticking = false
		} else if !idle && !ticking {
			tick.Reset(every)
			ticking = true
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
			l.dispatch(ctx)
		case <-l.wake:
			l.dispatch(ctx)
		}
	}
}

// idle reports whether this owner tracks no client.
func (l *liveness) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients) == 0
}

// syncedView returns the view id the owned set was computed from.
func (l *liveness) syncedView() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.viewID
}

// resync recomputes the set of owned clients when the view or the groups
// changed: a client that moved here starts with no misses and a first check
// at a random point of the next interval; a client that moved away or left
// is dropped (a check in flight for it is ignored).
func (l *liveness) resync() {
	viewID, members := l.s.cfg.Members()
	index, _ := l.s.cfg.State.Index()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.synced && viewID == l.viewID && index == l.index {
		return
	}
	l.synced, l.viewID, l.index = true, viewID, index
	self := l.s.cfg.Self
	owner := slices.Contains(members, self)
	now := time.Now()
	seen := make(map[clientKey]bool, len(l.clients))
	l.s.cfg.State.Each(func(group string, m groups.Member) {
		if !owner || groups.Owner(group, m.Client, members) != self {
			return
		}
		k := clientKey{group, m.Client}
		seen[k] = true
		if t := l.clients[k]; t != nil {
			if t.inc == m.Incarnation && t.addr == m.Addr {
				return
			}
			l.drop(t)
		}
		t := &tracked{key: k, addr: m.Addr, inc: m.Incarnation, next: now.Add(jitter(l.s.cfg.Interval)), idx: -1}
		l.clients[k] = t
		heap.Push(&l.queue, t)
	})
	for k, t := range l.clients {
		if !seen[k] {
			l.drop(t)
		}
	}
}

// drop stops tracking t; the caller holds l.mu.
func (l *liveness) drop(t *tracked) {
	t.gone = true
	if t.idx >= 0 {
		heap.Remove(&l.queue, t.idx)
	}
	delete(l.clients, t.key)
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

// dispatch hands the checks that are due to the workers, as far as the
// bound on checks in flight allows (when it is reached, the next check to
// end wakes the scheduler), starting a worker when all are busy.
func (l *liveness) dispatch(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.starved = false
	for len(l.queue) > 0 && !l.queue[0].next.After(now) {
		if l.busy >= maxChecks {
			l.starved = true
			return
		}
		t := heap.Pop(&l.queue).(*tracked)
		l.busy++
		if l.busy > l.workers {
			l.workers++
			l.wg.Add(1)
			go l.worker(ctx)
		}
		l.jobs <- job{t: t, addr: t.addr, inc: t.inc, misses: t.misses, keptAlive: now.Sub(t.keepalive) < l.s.cfg.Interval}
	}
}

// worker runs checks until ctx is done.
func (l *liveness) worker(ctx context.Context) {
	defer l.wg.Done()
	for {
		select {
		case j := <-l.jobs:
			l.check(ctx, j.t, j.addr, j.inc, j.misses, j.keptAlive)
		case <-ctx.Done():
			return
		}
	}
}

// check checks one client and records the verdict; after misses in a row
// it commits the removal of that incarnation.
func (l *liveness) check(ctx context.Context, t *tracked, addr string, inc uint64, misses int, keptAlive bool) {
	s := l.s
	final := misses+1 >= s.cfg.Misses
	ok, cutOff := keptAlive, false
	if !ok {
		ok, cutOff = l.verdict(ctx, t.key, addr, inc, misses, final)
	}
	l.mu.Lock()
	l.busy--
	if l.starved {
		l.signal()
	}
	l.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	if t.gone {
		l.mu.Unlock()
		return
	}
	switch {
	case ok && cutOff:
		// Other peers reach it, this owner does not: keep it, and keep
		// asking them at every check.
		t.misses = s.cfg.Misses - 1
		if !t.cutOff {
			t.cutOff = true
			s.log.Info("client answers other peers but not its owner; kept", "group", t.key.group, "client", t.key.client, "addr", addr)
		}
	case ok:
		t.misses, t.cutOff = 0, false
	default:
		t.misses++
	}
	expire := t.misses >= s.cfg.Misses
	if !expire {
		l.reschedule(t)
	}
	l.mu.Unlock()
	if !expire {
		return
	}
	s.log.Info("client missed its checks; removing it", "group", t.key.group, "client", t.key.client, "incarnation", inc, "misses", s.cfg.Misses)
	err := s.expire(ctx, t.key.group, t.key.client, inc)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("removal of a client failed; will retry", "group", t.key.group, "client", t.key.client, "error", err)
	}
	l.mu.Lock()
	if !t.gone {
		// Committed: the state change drops it soon. Not committed: the
		// next check (a miss again) retries.
		l.reschedule(t)
	}
	l.mu.Unlock()
}

// reschedule queues t's next check one interval after the last due time
// (sooner never, later only when checks fall behind); the caller holds l.mu.
func (l *liveness) reschedule(t *tracked) {
	now := time.Now()
	t.next = t.next.Add(l.s.cfg.Interval)
	if t.next.Before(now) {
		t.next = now.Add(jitter(l.s.cfg.Interval / 10))
	}
	heap.Push(&l.queue, t)
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

// checkQueue is a min-heap of tracked clients by next check time; its
// methods implement heap.Interface and keep each tracked.idx current.
type checkQueue []*tracked

func (q checkQueue) Len() int           { return len(q) }
func (q checkQueue) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q checkQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx, q[j].idx = i, j
}
func (q *checkQueue) Push(x any) {
	t := x.(*tracked)
	t.idx = len(*q)
	*q = append(*q, t)
}
func (q *checkQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	t.idx = -1
	return t
}
