package service

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/internal/testkit"
	"roster/peer/api"
	"roster/peer/fsm"
	"roster/peer/groups"
)

// single is a one-peer cluster in memory: a Raft that leads alone, its FSM
// and a Service on top, with short checks.
type single struct {
	svc  *Service
	fsm  *fsm.FSM
	raft *raft.Raft
}

const (
	testInterval = 100 * time.Millisecond
	testMisses   = 3
)

func newSingle(t *testing.T) *single {
	t.Helper()
	return newSingleInterval(t, testInterval)
}

// newSingleInterval is newSingle with checks every interval.
func newSingleInterval(t *testing.T, interval time.Duration) *single {
	t.Helper()
	return newSingleChecks(t, interval, testMisses)
}

// newSingleChecks is newSingle with checks every interval, misses of them
// in a row before a removal.
func newSingleChecks(t *testing.T, interval time.Duration, misses int) *single {
	t.Helper()
	f := fsm.New(nil)
	store := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	addr, trans := raft.NewInmemTransport("1")
	conf := raft.DefaultConfig()
	conf.LocalID = "1"
	conf.HeartbeatTimeout, conf.ElectionTimeout = 50*time.Millisecond, 50*time.Millisecond
	conf.LeaderLeaseTimeout, conf.CommitTimeout = 50*time.Millisecond, 5*time.Millisecond
	conf.Logger = hclog.NewNullLogger()
	if err := raft.BootstrapCluster(conf, store, store, snaps, trans, raft.Configuration{Servers: []raft.Server{{ID: "1", Address: addr}}}); err != nil {
		t.Fatal(err)
	}
	r, err := raft.NewRaft(conf, f, store, store, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{
		Self: 1, Raft: r, State: f.Groups(),
		Members:  func() (uint64, []int) { return 1, []int{1} },
		PeerAPI:  func(int) (string, bool) { return "", false },
		Interval: interval, Misses: misses,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		r.Shutdown().Error()
		<-done
	})
	deadline := time.Now().Add(5 * time.Second)
	for r.State() != raft.Leader {
		if time.Now().After(deadline) {
			t.Fatal("no leader after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &single{svc: svc, fsm: f, raft: r}
}

func (s *single) join(t *testing.T, group, client, addr string) api.JoinResponse {
	t.Helper()
	res, err := s.svc.Join(context.Background(), group, api.JoinRequest{Client: client, Addr: addr}, api.Origin{})
	if err != nil {
		t.Fatalf("join %s/%s: %v", group, client, err)
	}
	return res
}

// member returns the incarnation of a member (0 when absent).
func (s *single) member(group, client string) uint64 {
	v, _, _ := s.fsm.Groups().Group(group)
	if v == nil {
		return 0
	}
	m, _ := v.Find(client)
	return m.Incarnation
}

// closedAddr returns an address nothing listens at.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestBatcherCoalesces: the ops queued while the batcher was busy go into
// one entry, except a second op for the same client, which waits for the
// next.
func TestBatcherCoalesces(t *testing.T) {
	s := newSingle(t)
	b := newBatcher(s.raft)
	const n = 1000
	var wg sync.WaitGroup
	results := make([]groups.OpResult, n+1)
	indexes := make([]uint64, n+1)
	for i := range n + 1 {
		client := fmt.Sprintf("c%d", i)
		if i == n {
			client = "c0" // the same client again
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			results[i], indexes[i], err = b.submit(context.Background(), groups.Op{Kind: groups.OpJoin, Group: "jobs", Client: client, Addr: "127.0.0.1:1"})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	testkit.Eventually(t, 10*time.Second, "every op to queue", func() bool { return len(b.in) == n+1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx)
	}()
	defer func() { cancel(); <-done }()
	wg.Wait()
	entries := map[uint64]int{}
	for i := range indexes {
		entries[indexes[i]]++
	}
	if len(entries) != 2 {
		t.Fatalf("%d ops took %d entries, want 2 (one, and one for the repeated client): %v", n+1, len(entries), entries)
	}
	var c0 []uint64
	for i := range results {
		if i == 0 || i == n {
			c0 = append(c0, results[i].Incarnation)
		}
	}
	if c0[0] == c0[1] {
		t.Fatalf("two joins of c0 share incarnation %d", c0[0])
	}
	if _, clients := s.fsm.Groups().Size(); clients != n {
		t.Fatalf("%d clients in the state, want %d", clients, n)
	}
}

// TestOneOpPerClientPerEntry: concurrent joins of one client get distinct
// incarnations (never two lives in one entry).
func TestOneOpPerClientPerEntry(t *testing.T) {
	s := newSingle(t)
	var wg sync.WaitGroup
	incs := make([]uint64, 20)
	for i := range incs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			incs[i] = s.join(t, "jobs", "same", "127.0.0.1:1").Incarnation
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, inc := range incs {
		if seen[inc] {
			t.Fatalf("two joins of one client got incarnation %d: %v", inc, incs)
		}
		seen[inc] = true
	}
}

// TestOwnerRemovesDeadClient: a client whose listener closes is removed
// within interval × misses (plus a check's timeout); a live one is not.
func TestOwnerRemovesDeadClient(t *testing.T) {
	s := newSingle(t)
	live := testkit.ClosingListener(t)
	dying := testkit.ClosingListener(t)
	s.join(t, "jobs", "live", live.Addr().String())
	inc := s.join(t, "jobs", "dying", dying.Addr().String()).Incarnation
	// Both answer: after several intervals of checks both are members.
	testkit.Eventually(t, 5*time.Second, "the owner to track both clients", func() bool { return s.svc.Owned() == 2 })
	time.Sleep(testInterval * (testMisses + 2))
	if s.member("jobs", "dying") != inc || s.member("jobs", "live") == 0 {
		t.Fatal("a live client was removed")
	}
	dying.Close()
	took := testkit.Eventually(t, 5*time.Second, "the dead client to leave the group", func() bool { return s.member("jobs", "dying") == 0 })
	t.Logf("removed %s after its listener closed", took)
	if limit := testInterval*testMisses + time.Second; took > limit {
		t.Fatalf("removed after %s, want within %s", took, limit)
	}
	if s.member("jobs", "live") == 0 {
		t.Fatal("the live client was removed too")
	}
}

// TestOwnerRemovesAfterOneMiss: with --client-misses 1 every check is the
// last before a removal: a failed raw connect asks the other peers (none
// here) and the client is removed; a live one stays.
func TestOwnerRemovesAfterOneMiss(t *testing.T) {
	s := newSingleChecks(t, testInterval, 1)
	live := testkit.ClosingListener(t)
	s.join(t, "jobs", "live", live.Addr().String())
	s.join(t, "jobs", "dead", closedAddr(t))
	testkit.Eventually(t, 5*time.Second, "the dead client to leave the group", func() bool { return s.member("jobs", "dead") == 0 })
	time.Sleep(3 * testInterval) // three more checks of the live one
	if s.member("jobs", "live") == 0 {
		t.Fatal("the live client was removed")
	}
}

// TestQuickRestartKeepsNewIncarnation: a client that restarts (new
// listener, new join) while its owner counts misses of the old life is
// never removed; a late expire of the old life changes nothing.
func TestQuickRestartKeepsNewIncarnation(t *testing.T) {
	s := newSingle(t)
	old := testkit.ClosingListener(t)
	first := s.join(t, "jobs", "c1", old.Addr().String()).Incarnation
	testkit.Eventually(t, 5*time.Second, "the owner to track the client", func() bool { return s.svc.Owned() == 1 })
	old.Close()
	time.Sleep(testInterval * (testMisses - 1)) // the old life has missed checks
	second := s.join(t, "jobs", "c1", testkit.ClosingListener(t).Addr().String()).Incarnation
	if second <= first {
		t.Fatalf("rejoin got incarnation %d after %d", second, first)
	}
	_, err := s.svc.Leave(context.Background(), "jobs", api.LeaveRequest{Client: "c1", Incarnation: first, Reason: api.ReasonExpired}, api.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(testInterval * (testMisses + 3)); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if got := s.member("jobs", "c1"); got != second {
			t.Fatalf("member c1 is incarnation %d, want %d", got, second)
		}
	}
}

// TestKeepalivesKeepAClient: a client nobody can connect to stays while
// its keepalives reach the owner, and is removed once they stop.
func TestKeepalivesKeepAClient(t *testing.T) {
	s := newSingle(t)
	inc := s.join(t, "jobs", "c1", closedAddr(t)).Incarnation
	testkit.Eventually(t, 5*time.Second, "the owner to track the client", func() bool { return s.svc.Owned() == 1 })
	for end := time.Now().Add(testInterval * (testMisses + 3)); time.Now().Before(end); time.Sleep(testInterval / 3) {
		res, err := s.svc.Keepalive(context.Background(), "jobs", "c1", api.Origin{})
		if err != nil || !res.Counted || res.Incarnation != inc {
			t.Fatalf("keepalive: %+v, %v", res, err)
		}
	}
	testkit.Eventually(t, 5*time.Second, "the client without keepalives to leave the group", func() bool { return s.member("jobs", "c1") == 0 })
	if _, err := s.svc.Keepalive(context.Background(), "jobs", "c1", api.Origin{}); !api.IsNotFound(err) {
		t.Fatalf("keepalive of a removed client: %v, want 404", err)
	}
}

// TestHTTPCheck: an http:// address must answer 2xx.
func TestHTTPCheck(t *testing.T) {
	s := newSingle(t)
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	s.join(t, "web", "w1", srv.URL+"/health")
	time.Sleep(testInterval * (testMisses + 2))
	if s.member("web", "w1") == 0 {
		t.Fatal("a healthy HTTP client was removed")
	}
	healthy.Store(false)
	testkit.Eventually(t, 5*time.Second, "the HTTP client answering 503 to leave the group", func() bool { return s.member("web", "w1") == 0 })
}

// TestReads: blocking queries return at the next change, or at the wait
// with the same index; consistent reads work on the leader; an unknown
// group is a 404 carrying the list's index.
func TestReads(t *testing.T) {
	s := newSingle(t)
	ctx := context.Background()
	// The clients answer their checks: no removal changes the group while
	// the test reads it.
	alive := testkit.ClosingListener(t).Addr().String()
	j := s.join(t, "jobs", "c1", alive)
	g, err := s.svc.Group(ctx, "jobs", api.ReadQuery{Consistent: true}, api.Origin{})
	if err != nil || g.Index != j.Index || len(g.Members) != 1 || g.Members[0].Owner != 1 {
		t.Fatalf("consistent read: %+v, %v", g, err)
	}
	got := make(chan api.GroupResponse, 1)
	go func() {
		g, _ := s.svc.Group(ctx, "jobs", api.ReadQuery{Index: j.Index, HasIndex: true, Wait: 10 * time.Second}, api.Origin{})
		got <- g
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case g := <-got:
		t.Fatalf("a blocking query returned without a change: %+v", g)
	default:
	}
	j2 := s.join(t, "jobs", "c2", alive)
	select {
	case g := <-got:
		if g.Index != j2.Index || len(g.Members) != 2 {
			t.Fatalf("blocking query answered %+v, want index %d with 2 members", g, j2.Index)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocking query did not return at a change")
	}
	start := time.Now()
	g, err = s.svc.Group(ctx, "jobs", api.ReadQuery{Index: j2.Index, HasIndex: true, Wait: 100 * time.Millisecond}, api.Origin{})
	if err != nil || g.Index != j2.Index || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("blocking query without a change: %+v, %v after %s", g, err, time.Since(start))
	}
	list, err := s.svc.List(ctx, api.ReadQuery{}, api.Origin{})
	if err != nil || list.Index != j2.Index || list.Groups["jobs"].Size != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	_, err = s.svc.Group(ctx, "nope", api.ReadQuery{}, api.Origin{})
	if he, ok := err.(*api.HTTPError); !ok || he.Code != 404 || he.Index != j2.Index {
		t.Fatalf("unknown group: %v", err)
	}
	// Leave is idempotent; leaving the last member makes the group unknown.
	for range 2 {
		for _, c := range []string{"c1", "c2"} {
			if _, err := s.svc.Leave(ctx, "jobs", api.LeaveRequest{Client: c}, api.Origin{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.svc.Group(ctx, "jobs", api.ReadQuery{}, api.Origin{}); !api.IsNotFound(err) {
		t.Fatalf("a group without members: %v, want 404", err)
	}
}

// TestJoinRequestTakesEffectOnce checks that a join that comes again with
// the request id of the client's current life (as a peer forwards it again
// after losing the answer) answers that life, and that a join without one
// starts a new life.
func TestJoinRequestTakesEffectOnce(t *testing.T) {
	s := newSingle(t)
	ln := testkit.ClosingListener(t)
	o := api.Origin{Header: http.Header{api.RequestHeader: {"7-abc"}}}
	req := api.JoinRequest{Client: "c1", Addr: ln.Addr().String()}
	first, err := s.svc.Join(context.Background(), "jobs", req, o)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.svc.Join(context.Background(), "jobs", req, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Incarnation != first.Incarnation {
		t.Fatalf("the same request again: incarnation %d, want %d", again.Incarnation, first.Incarnation)
	}
	if fresh := s.join(t, "jobs", "c1", ln.Addr().String()); fresh.Incarnation <= first.Incarnation {
		t.Fatalf("a new request: incarnation %d, want past %d", fresh.Incarnation, first.Incarnation)
	}
}
