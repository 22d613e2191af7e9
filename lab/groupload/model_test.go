package groupload

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// hist builds histories on a millisecond clock.
type hist struct {
	t0  time.Time
	ops []Op
}

func newHist() *hist { return &hist{t0: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)} }

func (h *hist) at(ms int) time.Time { return h.t0.Add(time.Duration(ms) * time.Millisecond) }

func (h *hist) join(w int, group, client string, from, to int, inc uint64) {
	h.ops = append(h.ops, Op{Kind: OpJoin, Group: group, Client: client, Worker: w, Start: h.at(from), End: h.at(to), OK: true, Incarnation: inc, Index: inc})
}

func (h *hist) joinLost(w int, group, client string, from int) {
	h.ops = append(h.ops, Op{Kind: OpJoin, Group: group, Client: client, Worker: w, Start: h.at(from), Err: "timeout"})
}

func (h *hist) leave(w int, group, client string, from, to int) {
	h.ops = append(h.ops, Op{Kind: OpLeave, Group: group, Client: client, Worker: w, Start: h.at(from), End: h.at(to), OK: true})
}

func (h *hist) expire(w int, group, client string, at int, inc uint64) {
	h.ops = append(h.ops, Op{Kind: OpExpire, Group: group, Client: client, Worker: w, Start: h.at(at), Incarnation: inc})
}

// read records a consistent read that returned members "c1=5", "c2=7".
func (h *hist) read(w int, group string, from, to int, members ...Member) {
	if members == nil {
		members = []Member{}
	}
	h.ops = append(h.ops, Op{Kind: OpRead, Group: group, Worker: w, Start: h.at(from), End: h.at(to), OK: true, Members: members})
}

func m(client string, inc uint64) Member { return Member{Client: client, Incarnation: inc} }

func check(t *testing.T, h *hist) *Linearizability {
	t.Helper()
	l, err := Check(h.ops, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A correct history: joins, a leave, a crash whose old life is expired
// after a quick restart, reads concurrent with writes, lost answers, and a
// second group that does not interfere.
func correctHistory() *hist {
	h := newHist()
	h.join(1, "jobs", "c1", 0, 10, 5)
	h.join(2, "jobs", "c2", 5, 20, 7)
	h.read(3, "jobs", 8, 12, m("c1", 5))                // c2's join is not committed yet
	h.read(3, "jobs", 15, 18, m("c1", 5), m("c2", 7))   // concurrent with it: either
	h.read(4, "jobs", 21, 25, m("c1", 5), m("c2", 7))   // after it: both
	h.expire(2, "jobs", "c2", 30, 7)                    // c2 killed
	h.join(2, "jobs", "c2", 31, 40, 12)                 // and back at once: a new life
	h.read(3, "jobs", 41, 45, m("c1", 5), m("c2", 12))  // the late removal of life 7 changes nothing
	h.leave(1, "jobs", "c1", 50, 60)                    //
	h.read(4, "jobs", 55, 58, m("c1", 5), m("c2", 12))  // concurrent with the leave
	h.read(4, "jobs", 61, 65, m("c2", 12))              //
	h.joinLost(1, "jobs", "c3", 70)                     // a join whose answer was lost
	h.read(3, "jobs", 71, 75, m("c2", 12))              // may not have happened yet
	h.read(3, "jobs", 80, 85, m("c2", 12), m("c3", 14)) // and now has, at life 14
	h.read(4, "jobs", 90, 95, m("c2", 12), m("c3", 14)) //
	h.expire(2, "jobs", "c2", 100, 12)                  // c2 killed for good
	h.read(3, "jobs", 101, 105, m("c2", 12), m("c3", 14))
	h.read(3, "jobs", 130, 135, m("c3", 14))
	h.join(5, "web", "c1", 0, 10, 6)
	h.read(5, "web", 11, 12, m("c1", 6))
	h.ops = append(h.ops, Op{Kind: OpRead, Group: "web", Worker: 5, Start: h.at(13), Err: "connection refused"})
	h.ops = append(h.ops, Op{Kind: OpJoin, Group: "web", Client: "", Worker: 5, Start: h.at(14), End: h.at(15), Failed: true, Err: "400"})
	return h
}

func TestModelAcceptsCorrectHistory(t *testing.T) {
	h := correctHistory()
	var vis bytes.Buffer
	l, err := Check(h.ops, 10*time.Second, &vis)
	if err != nil {
		t.Fatal(err)
	}
	if !l.OK() {
		t.Fatalf("a correct history judged %s: %+v", l.Result, l.Groups)
	}
	if l.Dropped != 2 || l.Unknown != 1 || len(l.Groups) != 2 {
		t.Errorf("dropped %d, unknown %d, groups %+v; want 2, 1, jobs and web", l.Dropped, l.Unknown, l.Groups)
	}
	if !strings.Contains(vis.String(), "<html") || !strings.Contains(vis.String(), "join(c2)") {
		t.Errorf("the visualization (%d bytes) lacks the page or the operations", vis.Len())
	}
}

// brokenCases are the correct history with one answer changed.
var brokenCases = []struct {
	name   string
	break_ func(h *hist)
}{
	{"a stale read made consistent", func(h *hist) {
		// After c2's join returned, a read that misses it.
		h.read(4, "jobs", 26, 28, m("c1", 5))
	}},
	{"a live client removed", func(h *hist) {
		h.read(4, "jobs", 46, 48, m("c1", 5))
	}},
	{"a late removal of an old life removes the new one", func(h *hist) {
		h.read(4, "jobs", 46, 48, m("c1", 5))
		h.read(3, "jobs", 49, 49, m("c1", 5))
	}},
	{"a read that flaps back", func(h *hist) {
		// c1 is gone after its leave returned, then seen again.
		h.read(3, "jobs", 66, 68, m("c1", 5), m("c2", 12))
	}},
	{"a wrong incarnation", func(h *hist) {
		h.read(4, "jobs", 46, 48, m("c1", 5), m("c2", 7))
	}},
	{"a member that never joined", func(h *hist) {
		h.read(5, "web", 20, 21, m("c1", 6), m("zz", 3))
	}},
	{"a crashed client's lost-answer join seen, lost, seen again", func(h *hist) {
		h.read(4, "jobs", 86, 88, m("c2", 12))
	}},
}

// Each broken history is the correct one with one answer changed: Porcupine
// must find every one.
func TestModelCatchesBrokenHistories(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			h := correctHistory()
			tc.break_(h)
			if l := check(t, h); l.Result != "Illegal" {
				t.Fatalf("a broken history judged %s: %+v", l.Result, l.Groups)
			}
		})
	}
}

// The verdict names the group whose history is broken.
func TestCheckNamesTheGroup(t *testing.T) {
	h := correctHistory()
	h.read(5, "web", 20, 21)
	l := check(t, h)
	want := map[string]string{"jobs": "Ok", "web": "Illegal"}
	for _, g := range l.Groups {
		if want[g.Group] != g.Result {
			t.Errorf("group %s judged %s, want %s", g.Group, g.Result, want[g.Group])
		}
	}
}

// A killed life's removal is bounded by the client's next answered join:
// a read before that join may miss the client, a read after it may not.
func TestExpireBoundedByTheNextJoin(t *testing.T) {
	h := newHist()
	h.join(1, "jobs", "c1", 0, 10, 5)
	h.expire(1, "jobs", "c1", 20, 5)
	h.read(2, "jobs", 30, 31)             // removed: fine
	h.join(1, "jobs", "c1", 40, 50, 9)    // back, a new life
	h.read(2, "jobs", 60, 61, m("c1", 9)) // fine
	pops, _ := Operations(h.ops)
	for _, op := range pops {
		if op.Input.(input).kind == OpExpire && op.Return != int64(50*time.Millisecond) {
			t.Errorf("the expire returns at %v, want at the rejoin's answer (50ms)", time.Duration(op.Return))
		}
	}
	if l := check(t, h); !l.OK() {
		t.Fatalf("judged %s", l.Result)
	}
	h.read(2, "jobs", 70, 71) // the new life removed by the old one's expiry
	if l := check(t, h); l.Result != "Illegal" {
		t.Errorf("a late removal of an old life that took the new one judged %s", l.Result)
	}
}

// A state's steps keep it sorted and unshared, and compare by content.
func TestSetSteps(t *testing.T) {
	a := newSet(nil).with("c=d", 2).with("a,b", 1).with("", 4)
	b := a.with("a,b", 7)
	if got := a.String(); got != "{=4,a,b=1,c=d=2}" {
		t.Errorf("a = %s: not sorted, or changed by a later step", got)
	}
	if got := b.without("c=d").without("zz").String(); got != "{=4,a,b=7}" {
		t.Errorf("b without c=d = %s", got)
	}
	if !a.equal(newSet(nil).with("", 4).with("a,b", 1).with("c=d", 2)) || a.equal(b) || a.hash == b.hash {
		t.Errorf("sets compare by content: %s vs %s", a, b)
	}
}

func TestHistoryJSON(t *testing.T) {
	h := correctHistory()
	var b bytes.Buffer
	if err := WriteJSON(&b, h.ops); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadJSON(&b)
	if err != nil || len(ops) != len(h.ops) {
		t.Fatalf("read back %d ops, %v; want %d", len(ops), err, len(h.ops))
	}
	if l, _ := Check(ops, 10*time.Second, nil); !l.OK() {
		t.Errorf("the history read back judged %s", l.Result)
	}
}

// The per-client check rejects each broken history too (so a group whose
// group search runs out of time is still caught), and accepts the correct
// one.
func TestClientModelCatchesBrokenHistories(t *testing.T) {
	pops, _ := Operations(correctHistory().ops)
	if res := porcupine.CheckOperations(ClientModel(), pops); !res {
		t.Fatal("the per-client check rejects a correct history")
	}
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			h := correctHistory()
			tc.break_(h)
			pops, _ := Operations(h.ops)
			if porcupine.CheckOperations(ClientModel(), pops) {
				t.Fatal("the per-client check accepts a broken history")
			}
		})
	}
}

// A read made of two states of a group (one client's before a change,
// another's after) is linearizable one client at a time but not as a
// whole: the per-client check is weaker, and the verdict says which check
// decided.
func TestClientModelIsWeaker(t *testing.T) {
	h := newHist()
	h.join(1, "jobs", "c1", 0, 10, 5)
	h.leave(1, "jobs", "c1", 20, 30)                  // c1 leaves while
	h.join(2, "jobs", "c2", 20, 30, 6)                // c2 joins, at the same time
	h.read(3, "jobs", 21, 29)                         // neither: c1 gone, c2 not yet
	h.read(4, "jobs", 21, 29, m("c1", 5), m("c2", 6)) // both: c2 in, c1 still there
	pops, _ := Operations(h.ops)
	if !porcupine.CheckOperations(ClientModel(), pops) {
		t.Fatal("the per-client check rejects the mixed reads")
	}
	l := check(t, h)
	if l.Result != "Illegal" || l.PerClient != "Ok" {
		t.Fatalf("judged %s (per client %s), want Illegal by the group check (per client Ok)", l.Result, l.PerClient)
	}
}
