package nemesis

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/lab/fault"
)

// fakePeer is a peer's HTTP API as the nemesis sees it: a real fault
// Injector's handler and a /health that says who leads.
type fakePeer struct {
	name   string
	inj    *fault.Injector
	srv    *httptest.Server
	mu     sync.Mutex
	state  string
	leader int
}

func newFakePeer(t *testing.T, id int, name string, faults bool) *fakePeer {
	p := &fakePeer{name: name, inj: fault.New(fault.Options{Self: id, Seed: 1}), state: "Follower", leader: 1}
	mux := http.NewServeMux()
	if faults {
		mux.Handle("/faults", p.inj.Handler())
		mux.Handle("/faults/", p.inj.Handler())
	}
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"id": id, "name": name, "state": p.state, "leader": p.leader, "view": map[string]any{"id": 5}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// set changes what /health says.
func (p *fakePeer) set(state string, leader int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.leader = state, leader
}

func (p *fakePeer) target(withID int) Target {
	return Target{Name: p.name, ID: withID, API: strings.TrimPrefix(p.srv.URL, "http://")}
}

var fiveNames = []string{"one", "two", "three", "four", "five"}

// fiveFakes starts five fake peers; ids are left for the nemesis to learn
// from /health unless withIDs.
func fiveFakes(t *testing.T, withIDs bool) ([]*fakePeer, *Peers) {
	var fakes []*fakePeer
	var ts []Target
	for i, n := range fiveNames {
		f := newFakePeer(t, i+1, n, true)
		fakes = append(fakes, f)
		id := 0
		if withIDs {
			id = i + 1
		}
		ts = append(ts, f.target(id))
	}
	peers, err := NewPeers(ts)
	if err != nil {
		t.Fatal(err)
	}
	return fakes, peers
}

func TestPartitionByNamesLearnsIDsAndReachesEveryPeer(t *testing.T) {
	fakes, peers := fiveFakes(t, false)
	r := &Runner{Peers: peers}
	act, _ := ParseAction([]string{"partition", "one,two|three,four,five"})
	res := r.Do(context.Background(), act)
	if res.Err() != nil || len(res.OK) != 5 {
		t.Fatalf("partition: %s", res)
	}
	for _, f := range fakes {
		if got := f.inj.State().Partition; !reflect.DeepEqual(got, [][]int{{1, 2}, {3, 4, 5}}) {
			t.Errorf("%s: partition %v", f.name, got)
		}
	}
	if res := r.Do(context.Background(), Action{Kind: Heal}); res.Err() != nil {
		t.Fatalf("heal: %s", res)
	}
	for _, f := range fakes {
		if got := f.inj.State().Partition; len(got) != 0 {
			t.Errorf("%s: partition %v after heal", f.name, got)
		}
	}
}

func TestPauseLeaderPausesThePeerThatLeads(t *testing.T) {
	fakes, peers := fiveFakes(t, true)
	for _, f := range fakes {
		f.set("Follower", 3)
	}
	fakes[2].set("Leader", 3)
	r := &Runner{Peers: peers}
	res := r.Do(context.Background(), Action{Kind: Pause, Peers: []string{"leader"}, For: time.Minute})
	if !reflect.DeepEqual(res.OK, []string{"three"}) {
		t.Fatalf("pause leader: %s", res)
	}
	for _, f := range fakes {
		if paused := f.inj.Status().PausedUntil != nil; paused != (f.name == "three") {
			t.Errorf("%s paused = %v", f.name, paused)
		}
	}
	if res := r.Do(context.Background(), Action{Kind: Resume, Peers: []string{"3"}}); res.Err() != nil {
		t.Fatalf("resume 3: %s", res)
	}
	if fakes[2].inj.Status().PausedUntil != nil {
		t.Error("three still paused after resume")
	}
	// With no peer in state Leader, the leader most peers name.
	fakes[2].set("Follower", 3)
	if tg, err := peers.Resolve(context.Background(), "leader"); err != nil || tg.Name != "three" {
		t.Errorf("leader by votes = %+v, %v", tg, err)
	}
}

func TestLossAndDelayKeepThePartitionAndOtherRules(t *testing.T) {
	fakes, peers := fiveFakes(t, true)
	ctx := context.Background()
	block := fault.Rule{Peers: []int{4}, Dir: fault.Out, Scope: fault.Raft, Block: true}
	if err := fakes[1].inj.SetState(fault.State{Rules: []fault.Rule{block}, Partition: [][]int{{1, 2}, {3, 4, 5}}}); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Peers: peers}
	for _, words := range [][]string{{"loss", "20%", "two,three"}, {"delay", "50ms+-10ms", "two"}} {
		a, err := ParseAction(words)
		if err != nil {
			t.Fatal(err)
		}
		if res := r.Do(ctx, a); res.Err() != nil || len(res.Failed) > 0 {
			t.Fatalf("%v: %s", words, res)
		}
	}
	st := fakes[1].inj.State()
	if !reflect.DeepEqual(st.Partition, [][]int{{1, 2}, {3, 4, 5}}) {
		t.Errorf("two's partition became %v", st.Partition)
	}
	var link *fault.Rule
	kept := false
	for i, rl := range st.Rules {
		if rl.Block {
			kept = true
		} else {
			link = &st.Rules[i]
		}
	}
	if !kept || link == nil || link.Loss != 0.2 || time.Duration(link.Delay) != 50*time.Millisecond || time.Duration(link.Jitter) != 10*time.Millisecond || len(st.Rules) != 2 {
		t.Errorf("two's rules = %+v", st.Rules)
	}
	if got := fakes[2].inj.State().Rules; len(got) != 1 || got[0].Loss != 0.2 || got[0].Delay != 0 {
		t.Errorf("three's rules = %+v", got)
	}
	if got := fakes[0].inj.State().Rules; len(got) != 0 {
		t.Errorf("one was not named but has rules %+v", got)
	}
	// loss 0 and delay 0 remove the link rule again.
	r.Do(ctx, Action{Kind: Loss, Loss: 0, Peers: []string{"two"}})
	r.Do(ctx, Action{Kind: Delay, Peers: []string{"two"}})
	if got := fakes[1].inj.State().Rules; len(got) != 1 || !got[0].Block {
		t.Errorf("two's rules after loss 0 and delay 0 = %+v", got)
	}
	if res := r.Do(ctx, Action{Kind: Clear}); res.Err() != nil {
		t.Fatal(res)
	}
	if st := fakes[1].inj.State(); len(st.Rules) != 0 || len(st.Partition) != 0 {
		t.Errorf("two after clear: %+v", st)
	}
}

func TestUnreachablePeersAreReportedNotFatal(t *testing.T) {
	fakes, peers := fiveFakes(t, true)
	fakes[4].srv.Close() // five is down
	r := &Runner{Peers: peers, Retry: 300 * time.Millisecond}
	res := r.Do(context.Background(), Action{Kind: Heal})
	if res.Err() != nil || len(res.OK) != 4 || !strings.Contains(res.Failed["five"], "not answering") {
		t.Errorf("heal with five down: %s", res)
	}
	res = r.Do(context.Background(), Action{Kind: Pause, Peers: []string{"five"}, For: time.Second})
	if res.Err() == nil {
		t.Errorf("pausing a dead peer reached someone: %s", res)
	}
	if res := r.Do(context.Background(), Action{Kind: Pause, Peers: []string{"six"}, For: time.Second}); res.Err() == nil || !strings.Contains(res.String(), `no peer called "six"`) {
		t.Errorf("pause six: %s", res)
	}
}

func TestPeerWithoutFaultAPIGetsAHint(t *testing.T) {
	f := newFakePeer(t, 1, "one", false)
	peers, _ := NewPeers([]Target{f.target(1)})
	start := time.Now()
	res := (&Runner{Peers: peers}).Do(context.Background(), Action{Kind: Heal})
	if !strings.Contains(res.Failed["one"], "--faults") {
		t.Errorf("got %s", res)
	}
	if time.Since(start) > time.Second {
		t.Errorf("a 404 was retried for %v", time.Since(start))
	}
}

type fakeProcs struct{ calls []string }

func (f *fakeProcs) Kill(name string) error  { f.calls = append(f.calls, "kill "+name); return nil }
func (f *fakeProcs) Start(name string) error { f.calls = append(f.calls, "start "+name); return nil }

func TestRunDoesStepsInOrderAtTheirTimes(t *testing.T) {
	fakes, peers := fiveFakes(t, true)
	procs := &fakeProcs{}
	var mu sync.Mutex
	var lines []string
	r := &Runner{Peers: peers, Procs: procs, Log: func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }}
	steps, err := ParseSchedule(strings.Fields("--at 300ms start three --at 0s partition 1,2/3,4,5 --at 200ms kill 3 --at 250ms heal"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if failed := r.Run(context.Background(), start, steps); failed != 0 {
		t.Fatalf("%d steps failed: %q", failed, lines)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("the schedule ended after %v, before its last step's time", el)
	}
	if want := []string{"kill three", "start three"}; !reflect.DeepEqual(procs.calls, want) {
		t.Errorf("procs calls %q, want %q", procs.calls, want)
	}
	if len(lines) != 4 || !strings.Contains(lines[0], "partition 1,2/3,4,5: ok at one,two,three,four,five") || !strings.Contains(lines[2], "heal") {
		t.Errorf("log lines %q", lines)
	}
	if len(fakes[0].inj.State().Partition) != 0 {
		t.Error("partition not healed")
	}
	// Without Procs, kill fails and counts.
	r.Procs = nil
	if failed := r.Run(context.Background(), time.Now(), []Step{{Action: Action{Kind: Kill, Peers: []string{"one"}}}}); failed != 1 {
		t.Errorf("kill without procs: %d failed", failed)
	}
	// A cancelled context stops the schedule before later steps.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if failed := r.Run(ctx, time.Now(), []Step{{At: time.Hour, Action: Action{Kind: Heal}}}); failed != 0 {
		t.Errorf("cancelled run: %d failed", failed)
	}
}

func TestTargetsSources(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hostsfile.txt")
	if err := os.WriteFile(hosts, []byte("one\ntwo 10.0.0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == PeersEnv {
				return v
			}
			return ""
		}
	}
	ts, from, err := Config{Hostsfile: hosts}.Targets(env(""))
	if err != nil || from != "hostsfile "+hosts || !reflect.DeepEqual(ts, []Target{{"one", 1, "one:8082"}, {"two", 2, "10.0.0.2:8082"}}) {
		t.Errorf("hostsfile: %+v %q %v", ts, from, err)
	}
	ts, from, err = Config{Hostsfile: hosts}.Targets(env("two=127.0.0.12:9002,one=127.0.0.11:9002"))
	if err != nil || from != PeersEnv || !reflect.DeepEqual(ts, []Target{{"two", 2, "127.0.0.12:9002"}, {"one", 1, "127.0.0.11:9002"}}) {
		t.Errorf("env: %+v %q %v", ts, from, err)
	}
	ts, from, err = Config{Peers: "a:1", APIPort: 9}.Targets(env("one=x:2"))
	if err != nil || from != "--peers" || !reflect.DeepEqual(ts, []Target{{"a", 0, "a:1"}}) {
		t.Errorf("--peers: %+v %q %v", ts, from, err)
	}
	if _, _, err := (Config{}).Targets(env("")); err == nil {
		t.Error("no source accepted")
	}
	if _, _, err := (Config{Hostsfile: filepath.Join(dir, "missing")}).Targets(env("")); err == nil {
		t.Error("missing hostsfile accepted")
	}
}
