package fsm

import (
	"maps"
	"math/rand/v2"
)

// Lives.
//
// A peer that restarts is a new life of the same id, and must print only the
// views of its current life: not the history Raft replays into it, whether it
// kept its data directory or lost it. Each peer process draws a life number
// at start (NewLife) and announces it; the leader records it in the change
// that admits the peer (Change.Lives), and the view keeps it for as long as
// the peer stays a member (View.Lives). A peer prints a view only if the view
// holds it with its own life number (View.HasLife).
//
// Views and changes committed before lives existed carry none (life 0, never
// a process's): they decode as before and no running peer prints them again.

// LifeOf returns the life number member id was admitted with, 0 when the
// view does not hold it or recorded none.
func (v View) LifeOf(id int) uint64 {
	if !v.Contains(id) {
		return 0
	}
	return v.Lives[id]
}

// HasLife reports whether the view holds peer id in its life life (non-zero).
func (v View) HasLife(id int, life uint64) bool {
	return life != 0 && v.LifeOf(id) == life
}

// nextLives returns the life numbers of the view after c, whose members are
// members, and whether c renews a member: re-admits one that the view
// already holds under another (non-zero) life.
func (v View) nextLives(c Change, members []int) (map[int]uint64, bool) {
	out := map[int]uint64{}
	for _, m := range members {
		if l := v.Lives[m]; l != 0 && v.Contains(m) {
			out[m] = l
		}
	}
	renewed := false
	for _, a := range c.Add {
		l := c.Lives[a]
		if l == 0 {
			continue
		}
		if v.Contains(a) && out[a] != l {
			renewed = true
		}
		out[a] = l
	}
	for _, d := range c.Del {
		delete(out, d)
	}
	if len(out) == 0 {
		return nil, renewed
	}
	return out, renewed
}

// cloneLives copies a view's life numbers.
func cloneLives(l map[int]uint64) map[int]uint64 {
	if l == nil {
		return nil
	}
	return maps.Clone(l)
}

// NewLife draws the life number of a peer process: random, non-zero, and
// below 2⁵³ so that it survives JSON readers that hold numbers as doubles.
func NewLife() uint64 { return rand.Uint64N(1<<53-1) + 1 }
