package service

import (
	"slices"
	"testing"
	"time"
)

// turnCounts advances w from its start through periods periods, one tick at
// a time, and counts how often each entry came due.
func turnCounts(w *wheel, from time.Time, periods int) map[*tracked]int {
	seen := map[*tracked]int{}
	period := w.period
	var due []*tracked
	for at := from; at.Before(from.Add(time.Duration(periods) * period)); at = at.Add(w.tick) {
		due = w.advance(at, due[:0])
		for _, t := range due {
			seen[t]++
		}
	}
	return seen
}

func TestWheelChecksEachEntryOncePerPeriod(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := newWheel(5*time.Second, 20*time.Millisecond, t0)
	if len(w.slots) != 250 || w.Tick() != 20*time.Millisecond {
		t.Fatalf("%d slots of %v, want 250 of 20ms", len(w.slots), w.Tick())
	}
	ts := make([]*tracked, 1000)
	for i := range ts {
		ts[i] = &tracked{pos: -1}
		w.add(ts[i])
	}
	seen := turnCounts(w, t0, 3)
	for i, tr := range ts {
		if seen[tr] != 3 {
			t.Fatalf("entry %d came due %d times in 3 periods, want 3", i, seen[tr])
		}
	}
}

func TestWheelSpreadsEntriesEvenly(t *testing.T) {
	w := newWheel(5*time.Second, 20*time.Millisecond, time.Unix(0, 0))
	for range 10000 {
		w.add(&tracked{pos: -1})
	}
	lens := make([]int, len(w.slots))
	for i, s := range w.slots {
		lens[i] = len(s)
	}
	// 40 a slot on average; the less loaded of two random slots keeps
	// every slot close to it (33 to 43 in 300 runs, where one random
	// slot each would scatter them with a standard deviation of 6.3).
	if lo, hi := slices.Min(lens), slices.Max(lens); lo < 28 || hi > 48 {
		t.Fatalf("slots hold %d to %d entries, want 28 to 48", lo, hi)
	}
}

func TestWheelRemove(t *testing.T) {
	t0 := time.Unix(0, 0)
	w := newWheel(time.Second, 100*time.Millisecond, t0)
	var ts []*tracked
	for range 30 {
		tr := &tracked{pos: -1}
		w.addAt(tr, 3) // all in one slot: removal moves the others
		ts = append(ts, tr)
	}
	for _, i := range []int{0, 29, 7, 8} {
		w.remove(ts[i])
		w.remove(ts[i]) // twice: nothing
	}
	if w.Len() != 26 {
		t.Fatalf("Len %d, want 26", w.Len())
	}
	seen := turnCounts(w, t0, 1)
	for i, tr := range ts {
		want := 1
		if i == 0 || i == 29 || i == 7 || i == 8 {
			want = 0
		}
		if seen[tr] != want {
			t.Fatalf("entry %d came due %d times, want %d", i, seen[tr], want)
		}
	}
}

func TestWheelLateHandPassesEachSlotOnce(t *testing.T) {
	t0 := time.Unix(0, 0)
	w := newWheel(time.Second, 100*time.Millisecond, t0)
	ts := make([]*tracked, 50)
	for i := range ts {
		ts[i] = &tracked{pos: -1}
		w.add(ts[i])
	}
	// The owner stalled for three and a half periods: one check each, and
	// the hand is back on time.
	due := w.advance(t0.Add(3500*time.Millisecond), nil)
	if len(due) != 50 {
		t.Fatalf("%d due after a stall, want each of 50 once", len(due))
	}
	seen := map[*tracked]bool{}
	for _, tr := range due {
		if seen[tr] {
			t.Fatal("an entry came due twice after a stall")
		}
		seen[tr] = true
	}
	if next := w.due(); next.Before(t0.Add(3500*time.Millisecond)) || next.After(t0.Add(3600*time.Millisecond)) {
		t.Fatalf("next slot due at %v after the stall, want within a tick of 3.5 s", next.Sub(t0))
	}
	if again := w.advance(t0.Add(3500*time.Millisecond), nil); len(again) != 0 {
		t.Fatalf("%d due again at the same time", len(again))
	}
}

func TestWheelSmallPeriods(t *testing.T) {
	// A period shorter than a tick is one slot; a tick that does not divide
	// the period is shortened so that one turn is the period.
	if w := newWheel(time.Millisecond, 2*time.Millisecond, time.Unix(0, 0)); len(w.slots) != 1 || w.Tick() != time.Millisecond {
		t.Fatalf("%d slots of %v", len(w.slots), w.Tick())
	}
	t0 := time.Unix(0, 0)
	w := newWheel(100*time.Millisecond, 30*time.Millisecond, t0)
	w.hand = int64(len(w.slots)) * 7
	if got := w.due().Sub(t0); got != 700*time.Millisecond {
		t.Fatalf("seven turns take %v, want 700ms", got)
	}
}
