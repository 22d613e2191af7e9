package soak

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"roster/lab/nemesis"
)

// Soak runs have five peers, named like the compose files' services, all
// started at once (a restarted peer then comes back at once too).
var soakPeers = []string{"one", "two", "three", "four", "five"}

// Timing of a soak run: faults happen between soakWarmup and the run's end
// minus soakSettle, which leaves the group time to converge before the
// checker judges it.
const (
	// MinDuration is the shortest soak run: room for one episode.
	MinDuration = soakWarmup + soakMinEpisode + soakSettle

	soakWarmup       = 6 * time.Second
	soakSettle       = 10 * time.Second
	soakMinEpisode   = 3 * time.Second
	soakMaxEpisode   = 10 * time.Second
	soakMinRecovery  = 4 * time.Second
	soakRecoverySpan = 2 * time.Second
)

// Event is one step of a soak run's schedule. A plain value.
type Event struct {
	nemesis.Step
	// StartOf, for a start step, is the index of the kill step whose peer it
	// starts again (the kill may have named "leader"); -1 otherwise.
	StartOf int
}

// Plan is the random schedule of one soak run, fully decided by Seed and
// Duration. A plain value.
type Plan struct {
	Seed     uint64
	Duration time.Duration
	// Events are in time order.
	Events []Event
	// PeerArgs are extra flags for every peer (the loss run's --loss).
	PeerArgs []string
	// Expect lists the peers the plan names that may rightly be removed while
	// alive: the losing sides of partitions and paused peers (a pause of
	// "leader" adds the peer it resolved to, at run time).
	Expect []string
}

// String writes the schedule in the `roster nemesis` syntax (a start
// after "kill leader" names the kill it undoes).
func (p Plan) String() string {
	var parts []string
	for _, e := range p.Events {
		s := e.Step.String()
		if e.StartOf >= 0 && e.Peers[0] == "leader" {
			s = fmt.Sprintf("--at %v start (the peer killed at %v)", e.At, p.Events[e.StartOf].At)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "(no faults)"
	}
	return strings.Join(parts, " ")
}

// NewPlan draws the schedule of one run. Faults come in episodes that
// do not overlap, each followed by a recovery gap: a kill with a restart, a
// partition of a random shape then a heal, a pause; the last episode may be
// a kill with no restart. Loss and delay on random peers may run in the
// background of the whole fault window. Everything is healed and cleared
// soakSettle before the end. Kill and pause name "leader" now and then.
func NewPlan(seed uint64, d time.Duration) Plan {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed50a4))
	p := Plan{Seed: seed, Duration: d}
	ws, we := soakWarmup, d-soakSettle
	add := func(at time.Duration, a nemesis.Action) int {
		p.Events = append(p.Events, Event{Step: nemesis.Step{At: at.Round(100 * time.Millisecond), Action: a}, StartOf: -1})
		return len(p.Events) - 1
	}
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	somePeers := func() []string {
		n := 1 + rng.IntN(len(soakPeers))
		if n == len(soakPeers) {
			return nil // every peer
		}
		perm := rng.Perm(len(soakPeers))[:n]
		slices.Sort(perm)
		var out []string
		for _, i := range perm {
			out = append(out, soakPeers[i])
		}
		return out
	}
	peerOrLeader := func() string {
		if rng.IntN(3) == 0 {
			return "leader"
		}
		return soakPeers[rng.IntN(len(soakPeers))]
	}

	if we-ws < soakMinEpisode {
		return p
	}
	if rng.IntN(10) < 3 {
		loss := []float64{0.05, 0.1, 0.15, 0.2}[rng.IntN(4)]
		peers := somePeers()
		add(ws, nemesis.Action{Kind: nemesis.Loss, Loss: loss, Peers: peers})
	}
	if rng.IntN(10) < 2 {
		delay := time.Duration(5+rng.IntN(46)) * time.Millisecond
		jitter := time.Duration(rng.Int64N(int64(delay/2) + 1)).Round(time.Millisecond)
		add(ws, nemesis.Action{Kind: nemesis.Delay, Delay: delay, Jitter: jitter, Peers: somePeers()})
	}
	t := ws + between(0, min(time.Second, we-ws-soakMinEpisode))
	for we-t >= soakMinEpisode {
		length := between(soakMinEpisode, min(soakMaxEpisode, we-t))
		switch k := rng.IntN(100); {
		case k < 30: // kill, then start again
			i := add(t, nemesis.Action{Kind: nemesis.Kill, Peers: []string{peerOrLeader()}})
			j := add(t+length, nemesis.Action{Kind: nemesis.Start, Peers: p.Events[i].Peers})
			p.Events[j].StartOf = i
		case k < 40: // kill for good: the last episode
			add(t, nemesis.Action{Kind: nemesis.Kill, Peers: []string{peerOrLeader()}})
			t = we
			continue
		case k < 70:
			sides := randomSides(rng)
			add(t, nemesis.Action{Kind: nemesis.Partition, Sides: sides})
			add(t+length, nemesis.Action{Kind: nemesis.Heal})
			p.Expect = append(p.Expect, partitionLosers(sides)...)
		default:
			who := peerOrLeader()
			add(t, nemesis.Action{Kind: nemesis.Pause, Peers: []string{who}, For: length.Round(100 * time.Millisecond)})
			if who != "leader" {
				p.Expect = append(p.Expect, who)
			}
		}
		t += length + between(soakMinRecovery, soakMinRecovery+soakRecoverySpan)
	}
	if len(p.Events) > 0 {
		add(we, nemesis.Action{Kind: nemesis.Clear})
	}
	slices.SortStableFunc(p.Events, func(a, b Event) int { return int(a.At - b.At) })
	// Sorting moved the kills: point each start at its kill again.
	for i := range p.Events {
		if p.Events[i].Kind == nemesis.Start {
			for j := i - 1; j >= 0; j-- {
				if p.Events[j].Kind == nemesis.Kill {
					p.Events[i].StartOf = j
					break
				}
			}
		}
	}
	slices.Sort(p.Expect)
	p.Expect = slices.Compact(p.Expect)
	return p
}

// randomSides cuts the five peers into two sides (four times in five) or
// three, of random sizes.
func randomSides(rng *rand.Rand) [][]string {
	perm := rng.Perm(len(soakPeers))
	n := 2
	if rng.IntN(5) == 0 {
		n = 3
	}
	// n-1 distinct cut points in 1..len-1.
	cuts := rng.Perm(len(soakPeers) - 1)[:n-1]
	for i := range cuts {
		cuts[i]++
	}
	slices.Sort(cuts)
	cuts = append(cuts, len(soakPeers))
	var sides [][]string
	from := 0
	for _, c := range cuts {
		var side []int
		side = append(side, perm[from:c]...)
		slices.Sort(side)
		var names []string
		for _, i := range side {
			names = append(names, strconv.Itoa(i+1))
		}
		sides = append(sides, names)
		from = c
	}
	return sides
}

// partitionLosers returns the peers of a partition that may rightly be
// removed: everyone off the side that holds a majority of the five, or,
// when no side does, everyone (no side can commit a removal then, so this
// only keeps the checker from judging what cannot happen).
func partitionLosers(sides [][]string) []string {
	var out []string
	for i, s := range sides {
		if 2*len(s) > len(soakPeers) {
			for j, o := range sides {
				if j != i {
					out = append(out, o...)
				}
			}
			return out
		}
	}
	for _, s := range sides {
		out = append(out, s...)
	}
	return out
}
