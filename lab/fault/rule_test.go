package fault

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestRuleValidate(t *testing.T) {
	good := []Rule{
		{},
		{Peers: []int{1, 2}, Dir: In, Scope: Raft, Block: true},
		{Loss: 0}, {Loss: 1}, {Loss: 0.5, Dir: Out, Scope: Gossip},
		{Delay: Duration(50 * time.Millisecond), Jitter: Duration(50 * time.Millisecond)},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: unexpected error %v", r, err)
		}
	}
	bad := []struct {
		r    Rule
		want string
	}{
		{Rule{Peers: []int{2, 0}}, "peers[1]: 0 is not a peer id"},
		{Rule{Peers: []int{-3}}, "-3 is not a peer id"},
		{Rule{Dir: "sideways"}, `dir "sideways"`},
		{Rule{Scope: "dns"}, `scope "dns"`},
		{Rule{Loss: -0.1}, "loss -0.1: want a probability"},
		{Rule{Loss: 1.5}, "loss 1.5"},
		{Rule{Loss: math.NaN()}, "want a probability"},
		{Rule{Delay: Duration(-time.Millisecond)}, "delay -1ms: must not be negative"},
		{Rule{Delay: Duration(time.Millisecond), Jitter: Duration(-time.Millisecond)}, "jitter -1ms"},
		{Rule{Delay: Duration(10 * time.Millisecond), Jitter: Duration(20 * time.Millisecond)}, "jitter 20ms exceeds delay 10ms"},
	}
	for _, c := range bad {
		err := c.r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to contain %q", c.r, err, c.want)
		}
	}
}

func TestStateValidateNamesTheRule(t *testing.T) {
	s := State{Rules: []Rule{{Loss: 0.1}, {Loss: 2}}}
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "rules[1]: loss 2") {
		t.Fatalf("error %v, want it to start with rules[1]: loss 2", err)
	}
	s = State{Partition: [][]int{{1, 2}, {2, 3}}}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "partition: peer 2 is on sides 1 and 2") {
		t.Fatalf("error %v", err)
	}
}

func TestRuleJSON(t *testing.T) {
	in := `{"peers":[2],"dir":"out","scope":"raft","block":true,"loss":0.25,"delay":"50ms","jitter":"20ms"}`
	var r Rule
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	want := Rule{Peers: []int{2}, Dir: Out, Scope: Raft, Block: true, Loss: 0.25,
		Delay: Duration(50 * time.Millisecond), Jitter: Duration(20 * time.Millisecond)}
	if got, _ := json.Marshal(r); string(got) != in {
		t.Fatalf("round trip: got %s, want %s", got, in)
	}
	if r.Delay != want.Delay || r.Jitter != want.Jitter || r.Dir != want.Dir {
		t.Fatalf("decoded %+v, want %+v", r, want)
	}
	if err := json.Unmarshal([]byte(`{"delay":"soon"}`), &r); err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Fatalf("bad duration: error %v", err)
	}
	if err := json.Unmarshal([]byte(`{"delay":50}`), &r); err == nil {
		t.Fatal("numeric duration accepted")
	}
}

func TestMatches(t *testing.T) {
	r := Rule{Peers: []int{2}, Dir: In, Scope: Raft}.normalized()
	cases := []struct {
		peer int
		dir  Direction
		sc   Scope
		want bool
	}{
		{2, In, Raft, true},
		{2, Both, Raft, true}, // a connection carries both directions
		{2, Out, Raft, false},
		{2, In, Gossip, false},
		{3, In, Raft, false},
	}
	for _, c := range cases {
		if got := r.matches(c.peer, c.dir, c.sc); got != c.want {
			t.Errorf("matches(%d, %s, %s) = %v, want %v", c.peer, c.dir, c.sc, got, c.want)
		}
	}
	all := Rule{}.normalized()
	if !all.matches(5, Out, Gossip) || !all.matches(1, In, Raft) {
		t.Error("a rule with no peers, dir or scope must match everything")
	}
}

// countDrops judges n messages to peer 2 and counts the dropped ones.
func countDrops(inj *Injector, n int) (drops int, pattern []bool) {
	for range n {
		d := !inj.judge(2, Out, Gossip).pass()
		pattern = append(pattern, d)
		if d {
			drops++
		}
	}
	return drops, pattern
}

func TestLossProbabilityWithFixedSeed(t *testing.T) {
	const n = 20000
	for _, p := range []float64{0, 0.1, 0.5, 1} {
		inj := New(Options{Self: 1, Seed: 7})
		if err := inj.SetRules([]Rule{{Loss: p}}); err != nil {
			t.Fatal(err)
		}
		drops, pattern := countDrops(inj, n)
		sigma := math.Sqrt(n * p * (1 - p))
		if got := float64(drops); math.Abs(got-n*p) > 5*sigma {
			t.Errorf("loss %v: %d drops of %d, want %v ± %.0f", p, drops, n, n*p, 5*sigma)
		}
		// The same seed replays the same draws.
		again := New(Options{Self: 1, Seed: 7})
		again.SetRules([]Rule{{Loss: p}})
		_, pattern2 := countDrops(again, n)
		for k := range pattern {
			if pattern[k] != pattern2[k] {
				t.Fatalf("loss %v: seed 7 gave a different draw at message %d", p, k)
			}
		}
	}
	// Two rules in series: kept with probability (1-0.2)(1-0.5) = 0.4.
	inj := New(Options{Self: 1, Seed: 9})
	inj.SetRules([]Rule{{Loss: 0.2}, {Peers: []int{2}, Loss: 0.5}})
	drops, _ := countDrops(inj, n)
	if got := float64(drops) / n; math.Abs(got-0.6) > 0.02 {
		t.Errorf("two rules in series: drop rate %.3f, want 0.6", got)
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	a, b := New(Options{Seed: 1}), New(Options{Seed: 2})
	a.SetRules([]Rule{{Loss: 0.5}})
	b.SetRules([]Rule{{Loss: 0.5}})
	_, pa := countDrops(a, 64)
	_, pb := countDrops(b, 64)
	same := true
	for k := range pa {
		same = same && pa[k] == pb[k]
	}
	if same {
		t.Fatal("seeds 1 and 2 drew the same 64 losses")
	}
	if New(Options{}).Seed() == 0 {
		t.Fatal("no seed given: want a random non-zero seed")
	}
}

func TestDelayBounds(t *testing.T) {
	const d, j = 50 * time.Millisecond, 20 * time.Millisecond
	inj := New(Options{Self: 1, Seed: 3})
	inj.SetRules([]Rule{{Peers: []int{2}, Delay: Duration(d), Jitter: Duration(j)}})
	lo, hi := time.Hour, time.Duration(0)
	var sum time.Duration
	const n = 10000
	for range n {
		v := inj.judge(2, In, Raft)
		if !v.pass() {
			t.Fatal("a delay rule dropped a message")
		}
		if v.delay < d-j || v.delay > d+j {
			t.Fatalf("delay %v outside [%v, %v]", v.delay, d-j, d+j)
		}
		lo, hi = min(lo, v.delay), max(hi, v.delay)
		sum += v.delay
	}
	// Uniform: the draws reach near both ends, and average to d.
	if lo > d-j+time.Millisecond || hi < d+j-time.Millisecond {
		t.Errorf("delays spread over [%v, %v], want close to [%v, %v]", lo, hi, d-j, d+j)
	}
	if mean := sum / n; mean < d-time.Millisecond || mean > d+time.Millisecond {
		t.Errorf("mean delay %v, want %v", mean, d)
	}
	if v := inj.judge(3, In, Raft); v.delay != 0 {
		t.Errorf("peer 3 has no rule but got delay %v", v.delay)
	}
	// Fixed delay, and delays in series add up.
	inj.SetRules([]Rule{{Delay: Duration(10 * time.Millisecond)}, {Peers: []int{2}, Delay: Duration(5 * time.Millisecond)}})
	if v := inj.judge(2, Out, Gossip); v.delay != 15*time.Millisecond {
		t.Errorf("two delays in series: %v, want 15ms", v.delay)
	}
}

func TestBlockRules(t *testing.T) {
	inj := New(Options{Self: 1})
	inj.SetRules([]Rule{{Peers: []int{2}, Scope: Raft, Block: true}, {Peers: []int{3}, Dir: In, Block: true}})
	cases := []struct {
		peer int
		dir  Direction
		sc   Scope
		want bool
	}{
		{2, Out, Raft, true},
		{2, In, Raft, true},
		{2, Out, Gossip, false}, // raft only: the leader-crash scenario
		{3, In, Gossip, true},
		{3, Out, Gossip, false},
		{3, Both, Gossip, true}, // a connection is blocked by a one-way block
		{4, Both, Raft, false},
		{0, Both, Raft, false}, // unknown addresses pass
		{1, Both, Raft, false}, // never self
	}
	for _, c := range cases {
		if got := inj.blocked(c.peer, c.dir, c.sc); got != c.want {
			t.Errorf("blocked(%d, %s, %s) = %v, want %v", c.peer, c.dir, c.sc, got, c.want)
		}
		if got := !inj.judge(c.peer, c.dir, c.sc).pass(); c.dir != Both && got != c.want {
			t.Errorf("judge(%d, %s, %s) dropped = %v, want %v", c.peer, c.dir, c.sc, got, c.want)
		}
	}
}

func TestPartitionBlocksOtherSides(t *testing.T) {
	for _, c := range []struct {
		self    int
		blocked []int
		open    []int
	}{
		{self: 1, blocked: []int{3, 4, 5, 6}, open: []int{2}},
		{self: 4, blocked: []int{1, 2, 6}, open: []int{3, 5}},
		{self: 6, blocked: []int{1, 2, 3, 4, 5}}, // on no side: cut off
	} {
		inj := New(Options{Self: c.self})
		if err := inj.SetPartition([][]int{{1, 2}, {3, 4, 5}}); err != nil {
			t.Fatal(err)
		}
		for _, p := range c.blocked {
			if !inj.blocked(p, In, Gossip) || !inj.blocked(p, Out, Raft) {
				t.Errorf("self %d: peer %d not blocked", c.self, p)
			}
		}
		for _, p := range c.open {
			if inj.blocked(p, Both, Raft) {
				t.Errorf("self %d: peer %d on my side is blocked", c.self, p)
			}
		}
		inj.Heal()
		for _, p := range c.blocked {
			if inj.blocked(p, Both, Gossip) {
				t.Errorf("self %d: peer %d still blocked after heal", c.self, p)
			}
		}
	}
}

func TestHealKeepsRules(t *testing.T) {
	inj := New(Options{Self: 1})
	inj.SetRules([]Rule{{Loss: 0.1}})
	inj.SetPartition([][]int{{1}, {2}})
	inj.Heal()
	if s := inj.State(); len(s.Rules) != 1 || s.Rules[0].Loss != 0.1 || s.Partition != nil {
		t.Fatalf("after heal: %+v, want the loss rule and no partition", s)
	}
	// And SetRules keeps the partition.
	inj.SetPartition([][]int{{1}, {2}})
	inj.SetRules(nil)
	if s := inj.State(); len(s.Partition) != 2 || len(s.Rules) != 0 {
		t.Fatalf("after SetRules(nil): %+v, want the partition and no rules", s)
	}
}

func TestPauseBlocksEverythingThenRestores(t *testing.T) {
	inj := New(Options{Self: 1})
	inj.SetRules([]Rule{{Peers: []int{3}, Delay: Duration(time.Millisecond)}})
	inj.Pause(150 * time.Millisecond)
	for _, p := range []int{0, 2, 3} { // unknown addresses too
		if !inj.blocked(p, In, Gossip) || !inj.blocked(p, Out, Raft) {
			t.Errorf("paused: peer %d not blocked", p)
		}
	}
	if st := inj.Status(); st.PausedUntil == nil {
		t.Error("paused: status has no paused_until")
	}
	deadline := time.Now().Add(5 * time.Second)
	for inj.blocked(2, Out, Gossip) {
		if time.Now().After(deadline) {
			t.Fatal("pause of 150ms still on after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v := inj.judge(3, Out, Gossip); !v.pass() || v.delay != time.Millisecond {
		t.Errorf("after the pause: verdict %+v, want the delay rule back", v)
	}
	if inj.Status().PausedUntil != nil {
		t.Error("pause over but status still has paused_until")
	}
	inj.Pause(time.Hour)
	inj.Resume()
	if inj.blocked(2, Out, Gossip) {
		t.Error("Resume did not end the pause")
	}
	inj.Pause(time.Hour)
	inj.Clear()
	if inj.blocked(2, Out, Gossip) || len(inj.State().Rules) != 0 {
		t.Error("Clear did not end the pause and the rules")
	}
}

func TestStateIsCopied(t *testing.T) {
	inj := New(Options{Self: 1})
	peers := []int{2}
	sides := [][]int{{1}, {2}}
	inj.SetState(State{Rules: []Rule{{Peers: peers, Block: true}}, Partition: sides})
	peers[0], sides[0][0] = 3, 3
	s := inj.State()
	if s.Rules[0].Peers[0] != 2 || s.Partition[0][0] != 1 {
		t.Fatal("the injector shares the caller's slices")
	}
	s.Rules[0].Peers[0] = 4
	if inj.State().Rules[0].Peers[0] != 2 {
		t.Fatal("State returns the injector's own slices")
	}
	if got := s.Rules[0]; got.Dir != Both || got.Scope != All {
		t.Fatalf("defaults not spelled out: %+v", got)
	}
}

func TestHostAndAddrMap(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.12:8081":        "127.0.0.12",
		"127.0.0.12":             "127.0.0.12",
		"[::ffff:127.0.0.12]:80": "127.0.0.12",
		"::ffff:127.0.0.12":      "127.0.0.12",
		"[fe80::1%lo]:80":        "fe80::1",
		"two:8080":               "two",
		"two":                    "two",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
	m := AddrMap{"127.0.0.12": 2, "three": 3}
	for addr, want := range map[string]int{"127.0.0.12:9": 2, "127.0.0.12": 2, "three:8080": 3, "127.0.0.13": 0} {
		id, ok := m.PeerByAddr(addr)
		if id != want || ok != (want != 0) {
			t.Errorf("PeerByAddr(%q) = %d, %v, want %d", addr, id, ok, want)
		}
	}
}

func TestAddRulesKeepsTheOthers(t *testing.T) {
	var logged []string
	inj := New(Options{Self: 1, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	inj.SetRules([]Rule{{Loss: 0.1}})
	if err := inj.AddRules(Rule{Peers: []int{2}, Scope: Raft, Block: true}); err != nil {
		t.Fatal(err)
	}
	if s := inj.State(); len(s.Rules) != 2 || s.Rules[0].Loss != 0.1 || !s.Rules[1].Block {
		t.Fatalf("after AddRules: %+v", s.Rules)
	}
	if !inj.blocked(2, Out, Raft) || inj.blocked(2, Out, Gossip) {
		t.Fatal("the added raft-only block is not in force")
	}
	if err := inj.AddRules(Rule{Loss: 2}); err == nil || !strings.HasPrefix(err.Error(), "rules[0]: loss 2") {
		t.Fatalf("AddRules with loss 2: error %v", err)
	}
	if len(inj.State().Rules) != 2 {
		t.Fatal("a rejected AddRules changed the rules")
	}
	if want := "fault: rules every peer both all: loss 0.1; peers [2] both raft: block"; logged[len(logged)-1] != want {
		t.Fatalf("change log %q, want %q", logged[len(logged)-1], want)
	}
}
