package service

import (
	"math/rand/v2"
	"time"
)

// wheel spreads periodic checks evenly over a period: a ring of slots, one
// tick apart, that a hand passes once per period. Every entry sits in one
// slot and is due each time the hand passes it, so an owner of n clients
// wakes once a tick for about n/slots checks, whatever n is, and an entry
// needs no rescheduling after its check: its next one is exactly a period
// later. Adding and removing an entry are O(1); an added entry goes to the
// less loaded of two slots picked at random, which keeps the slots even (the
// checks spread over the period) and places its first check at a random
// point of the next period. Not safe for concurrent use (liveness guards it
// with its mutex); time comes from the caller, so tests drive it with a
// fake clock.
type wheel struct {
	slots  [][]*tracked
	period time.Duration
	tick   time.Duration // period / len(slots), rounded down
	// start is when the hand passed slot 0 for the first time; hand counts
	// the slots it has passed since (slot hand%len(slots) is next).
	start time.Time
	hand  int64
	size  int
}

// newWheel returns a wheel of period divided into ticks of about tick
// (at least one slot; the ticks are made to divide the period exactly),
// whose hand starts at now.
func newWheel(period, tick time.Duration, now time.Time) *wheel {
	n := 1
	if tick > 0 && period > tick {
		n = int(period / tick)
	}
	period = max(period, 1)
	return &wheel{slots: make([][]*tracked, n), period: period, tick: max(period/time.Duration(n), 1), start: now}
}

// Len returns the number of entries.
func (w *wheel) Len() int { return w.size }

// Tick returns the time between two slots.
func (w *wheel) Tick() time.Duration { return w.tick }

// add puts t in a slot; t must not be in the wheel.
func (w *wheel) add(t *tracked) {
	a, b := rand.IntN(len(w.slots)), rand.IntN(len(w.slots))
	if len(w.slots[b]) < len(w.slots[a]) {
		a = b
	}
	w.addAt(t, a)
}

// addAt puts t in slot i.
func (w *wheel) addAt(t *tracked, i int) {
	t.slot, t.pos = i, len(w.slots[i])
	w.slots[i] = append(w.slots[i], t)
	w.size++
}

// remove takes t out of its slot; nothing when t is not in the wheel.
func (w *wheel) remove(t *tracked) {
	if t.pos < 0 {
		return
	}
	s := w.slots[t.slot]
	last := s[len(s)-1]
	s[t.pos], last.pos = last, t.pos
	s[len(s)-1] = nil
	w.slots[t.slot] = s[:len(s)-1]
	t.pos = -1
	w.size--
}

// due returns when the hand passes its next slot (exactly a period per
// turn, whether or not the tick divides it).
func (w *wheel) due() time.Time {
	n := int64(len(w.slots))
	return w.start.Add(time.Duration(w.hand/n)*w.period + time.Duration(w.hand%n)*w.period/time.Duration(n))
}

// advance moves the hand up to now and appends the entries of every slot it
// passed to out (each entry at most once: a hand more than a period late
// passes each slot once and catches up). The entries stay in their slots.
func (w *wheel) advance(now time.Time, out []*tracked) []*tracked {
	n := int64(len(w.slots))
	if late := int64(now.Sub(w.due()) / w.tick); late >= n {
		w.hand += late - n + 1 // skip the turns missed: one check each
	}
	for !w.due().After(now) {
		out = append(out, w.slots[w.hand%n]...)
		w.hand++
	}
	return out
}
