package fault

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Options configure an Injector.
type Options struct {
	// Self is this peer's id (its hostsfile line number). Partitions need
	// it to know which side this peer is on.
	Self int
	// Resolver maps remote addresses to peer ids. Nil means no address is
	// known: rules then never apply, only pauses do.
	Resolver Resolver
	// Seed seeds the random source that decides losses and jitter, so a run
	// can be replayed. 0 picks a random non-zero seed, reported by Seed.
	// Goroutines draw from one source in whatever order they run, so a
	// replay reproduces the odds and the sequence of draws, not the exact
	// message that each draw lands on.
	Seed uint64
	// LocalIP, when set to a specific IP, is the address this peer's
	// memberlist TCP dials leave from. Peers are told apart by IP, and on a
	// host where peers share the loopback (127.0.0.11, 127.0.0.12, ...) the
	// kernel otherwise sends every dial from 127.0.0.1. With LocalIP set
	// the memberlist wrapper dials itself instead of asking the wrapped
	// transport (NetTransport's dial is a plain net.Dialer anyway). Leave
	// it nil when binding 0.0.0.0 (a container has one IP). Raft's stream
	// layer, which the peer builds, must dial from its IP the same way.
	LocalIP net.IP
	// Logf, when set, receives one line per change of the faults (never
	// one per message).
	Logf func(format string, args ...any)
}

// Injector holds the current faults of one peer and applies them to the
// transports it wraps. Change the faults with SetState, SetRules,
// SetPartition, Heal, Pause, Resume or Clear; every change applies to the
// next message, and a change that blocks a peer closes the live connections
// with it at once. All methods are safe for concurrent use.
type Injector struct {
	self int
	res  Resolver
	seed uint64
	from net.IP // nil: dial as the wrapped transport does
	logf func(format string, args ...any)

	mu          sync.Mutex
	rng         *rand.Rand
	state       State       // normalised copy
	sides       map[int]int // peer id -> partition side, nil when not partitioned
	pausedUntil time.Time
	conns       map[*conn]struct{} // live wrapped connections
}

// New returns an Injector with no faults.
func New(opts Options) *Injector {
	seed := opts.Seed
	for seed == 0 {
		seed = rand.Uint64()
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var from net.IP
	if opts.LocalIP != nil && !opts.LocalIP.IsUnspecified() {
		from = opts.LocalIP
	}
	return &Injector{
		from:  from,
		self:  opts.Self,
		res:   opts.Resolver,
		seed:  seed,
		logf:  logf,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		state: State{Rules: []Rule{}},
		conns: map[*conn]struct{}{},
	}
}

// Self returns this peer's id, as given in Options.
func (i *Injector) Self() int { return i.self }

// Seed returns the seed of the random source (the one given, or the one
// picked when none was).
func (i *Injector) Seed() uint64 { return i.seed }

// State returns a copy of the current rules and partition.
func (i *Injector) State() State {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.state.clone()
}

// Status returns the current faults with this peer's id, the seed and the
// end of a running pause.
func (i *Injector) Status() Status {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := i.state.clone()
	st := Status{Self: i.self, Seed: i.seed, Rules: s.Rules, Partition: s.Partition}
	if now := time.Now(); now.Before(i.pausedUntil) {
		t := i.pausedUntil
		st.PausedUntil = &t
	}
	return st
}

// SetState replaces the rules and the partition with s, after checking it.
// It leaves a running pause alone.
func (i *Injector) SetState(s State) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.clone()
	i.mu.Lock()
	i.state = s
	i.sides = sideIndex(s.Partition)
	i.mu.Unlock()
	i.logf("fault: rules %s, partition %v", describeRules(s.Rules), s.Partition)
	i.cutBlocked()
	return nil
}

// SetRules replaces the rules, keeping the partition.
func (i *Injector) SetRules(rules []Rule) error {
	s := State{Rules: rules}
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.clone()
	i.mu.Lock()
	i.state.Rules = s.Rules
	i.mu.Unlock()
	i.logf("fault: rules %s", describeRules(s.Rules))
	i.cutBlocked()
	return nil
}

// AddRules appends rules to the current ones (a --loss rule set at start
// stays), after checking them.
func (i *Injector) AddRules(rules ...Rule) error {
	s := State{Rules: rules}
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.clone()
	i.mu.Lock()
	i.state.Rules = append(i.state.Rules, s.Rules...)
	all := describeRules(i.state.Rules)
	i.mu.Unlock()
	i.logf("fault: rules %s", all)
	i.cutBlocked()
	return nil
}

// SetPartition splits the peers into sides, keeping the rules: this peer
// then blocks all traffic with every peer not on its side (with everyone if
// it is on no side). It replaces any earlier partition.
func (i *Injector) SetPartition(sides [][]int) error {
	if err := ValidatePartition(sides); err != nil {
		return err
	}
	s := State{Partition: sides}.clone()
	i.mu.Lock()
	i.state.Partition = s.Partition
	i.sides = sideIndex(s.Partition)
	i.mu.Unlock()
	i.logf("fault: partition %v", s.Partition)
	i.cutBlocked()
	return nil
}

// Heal removes the partition, keeping the rules.
func (i *Injector) Heal() {
	i.mu.Lock()
	had := i.state.Partition != nil
	i.state.Partition = nil
	i.sides = nil
	i.mu.Unlock()
	if had {
		i.logf("fault: partition healed")
	}
}

// Pause drops all traffic, both ways, with every peer (known or not) for d,
// and closes every live connection; afterwards the rules apply again as they
// are then. A new Pause replaces a running one; d <= 0 ends it (see Resume).
func (i *Injector) Pause(d time.Duration) {
	if d <= 0 {
		i.Resume()
		return
	}
	i.mu.Lock()
	i.pausedUntil = time.Now().Add(d)
	i.mu.Unlock()
	i.logf("fault: paused for %v", d)
	i.cutBlocked()
}

// Resume ends a running pause early.
func (i *Injector) Resume() {
	i.mu.Lock()
	was := time.Now().Before(i.pausedUntil)
	i.pausedUntil = time.Time{}
	i.mu.Unlock()
	if was {
		i.logf("fault: pause ended")
	}
}

// Clear removes every rule, the partition and a running pause.
func (i *Injector) Clear() {
	i.mu.Lock()
	i.state = State{Rules: []Rule{}}
	i.sides = nil
	i.pausedUntil = time.Time{}
	i.mu.Unlock()
	i.logf("fault: cleared")
}

// cutBlocked closes the live connections that the current faults block.
func (i *Injector) cutBlocked() {
	i.mu.Lock()
	var cut []*conn
	for c := range i.conns {
		if i.blockedLocked(c.remote(), Both, c.scope) {
			cut = append(cut, c)
		}
	}
	i.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}
