package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"roster/peer/hostsfile"
)

// KindRegister is a registration entry (Register): peers that are not in the
// hostsfile get their ids through the log.
const KindRegister Kind = 2

// maxRegister bounds the names of one registration entry.
const maxRegister = 1024

// Register gives ids to peer names that have none: Names[i] gets id
// First+i. The leader proposes it for the alive peers that are neither in
// its hostsfile nor registered. It applies only when every name is new and
// First is at least the registry's next id (NextID), so an id is never
// given twice, nor to another name than its first.
type Register struct {
	// Names are the peer names to register, in the order of their ids.
	Names []string `json:"names"`
	// First is the id of Names[0].
	First int `json:"first"`
}

// Encode returns the log entry bytes of r.
func (r Register) Encode() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // strings and a number: cannot fail
	}
	return append([]byte{byte(KindRegister)}, b...)
}

// decodeRegister parses a registration entry's body (after the kind byte).
func decodeRegister(data []byte) (Register, error) {
	var r Register
	if err := json.Unmarshal(data, &r); err != nil {
		return Register{}, fmt.Errorf("bad register entry: %w", err)
	}
	if len(r.Names) == 0 || len(r.Names) > maxRegister {
		return Register{}, fmt.Errorf("bad register entry: %d names (want 1 to %d)", len(r.Names), maxRegister)
	}
	if r.First < 1 || r.First > maxID-len(r.Names) {
		return Register{}, fmt.Errorf("bad register entry: first id %d", r.First)
	}
	seen := map[string]bool{}
	for _, n := range r.Names {
		if err := hostsfile.CheckName(n); err != nil {
			return Register{}, fmt.Errorf("bad register entry: %w", err)
		}
		if seen[n] {
			return Register{}, fmt.Errorf("bad register entry: %q twice", n)
		}
		seen[n] = true
	}
	return r, nil
}

// maxID bounds registered ids (far above any cluster's churn).
const maxID = 1 << 30

// ErrRegistered is returned by Apply for a registration that names a peer
// registered already, or an id below the next free one: another leader's
// proposal got there first. The leader plans again from the registry.
var ErrRegistered = errors.New("registration is stale: a name or an id is taken")

// registry maps the names of peers outside the hostsfile to their ids. Its
// zero value is empty; it is guarded by the FSM's mutex.
type registry struct {
	names map[string]int
	next  int // no id below it may be given (0: none given yet)
}

// apply registers r, or refuses it with ErrRegistered.
func (g *registry) apply(r Register) error {
	if r.First < g.next {
		return ErrRegistered
	}
	for _, n := range r.Names {
		if _, ok := g.names[n]; ok {
			return ErrRegistered
		}
	}
	if g.names == nil {
		g.names = map[string]int{}
	}
	for i, n := range r.Names {
		g.names[n] = r.First + i
	}
	g.next = r.First + len(r.Names)
	return nil
}

// check rejects a registry no FSM could have made: a bad name, an id
// below 1, at or above next, or given twice.
func (g registry) check() error {
	ids := map[int]string{}
	for n, id := range g.names {
		if err := hostsfile.CheckName(n); err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		if id < 1 || id >= g.next {
			return fmt.Errorf("registry: %q has id %d, next id %d", n, id, g.next)
		}
		if prev, dup := ids[id]; dup {
			return fmt.Errorf("registry: id %d given to %q and %q", id, prev, n)
		}
		ids[id] = n
	}
	if g.next < 0 || g.next > maxID {
		return fmt.Errorf("registry: next id %d", g.next)
	}
	return nil
}

// applyRegister applies a registration entry. Called from Raft's FSM goroutine.
func (f *FSM) applyRegister(data []byte) Result {
	r, err := decodeRegister(data)
	if err != nil {
		return Result{View: f.View(), Err: err}
	}
	f.mu.Lock()
	err = f.reg.apply(r)
	names := maps.Clone(f.reg.names)
	f.mu.Unlock()
	if err == nil && f.onNames != nil {
		f.onNames(names)
	}
	return Result{View: f.View(), Err: err}
}

// Names returns a copy of the registry: the ids given by consensus to
// peers outside the hostsfile. Safe for concurrent use.
func (f *FSM) Names() map[string]int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]int, len(f.reg.names))
	maps.Copy(out, f.reg.names)
	return out
}

// NextID returns the lowest id the registry may still give (1 when it has
// given none). Safe for concurrent use.
func (f *FSM) NextID() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return max(f.reg.next, 1)
}

// OnNames sets a function called from Raft's FSM goroutine with the whole
// registry each time it changes (a registration, or a snapshot restored).
// Call it before the FSM applies anything; it must not block.
func (f *FSM) OnNames(fn func(map[string]int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onNames = fn
}
