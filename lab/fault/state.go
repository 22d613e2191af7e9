package fault

import (
	"fmt"
	"slices"
	"time"
)

// State is the set of faults an Injector applies: the body of PUT /faults.
// It is a plain value; the Injector copies it.
type State struct {
	// Rules are the per-peer and default rules.
	Rules []Rule `json:"rules"`
	// Partition, when not empty, splits the peers into sides (lists of peer
	// ids): this peer blocks all traffic with every peer not on its side. A
	// peer on no side is cut off from everyone. Kept apart from Rules so a
	// heal removes the partition and nothing else.
	Partition [][]int `json:"partition,omitempty"`
}

// Validate says what is wrong with the state, naming the rule or side.
func (s State) Validate() error {
	for i, r := range s.Rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
	}
	if len(s.Partition) > 0 {
		if err := ValidatePartition(s.Partition); err != nil {
			return fmt.Errorf("partition: %w", err)
		}
	}
	return nil
}

// clone returns a deep copy of s with normalised rules.
func (s State) clone() State {
	out := State{Rules: make([]Rule, 0, len(s.Rules))}
	for _, r := range s.Rules {
		out.Rules = append(out.Rules, r.normalized())
	}
	for _, side := range s.Partition {
		out.Partition = append(out.Partition, slices.Clone(side))
	}
	return out
}

// Status is what GET /faults returns: the Injector's state, and who and
// since when it applies to.
type Status struct {
	// Self is this peer's id.
	Self int `json:"self"`
	// Seed is the seed of the random source that decides losses and jitter.
	Seed uint64 `json:"seed"`
	// Rules and Partition are the current State.
	Rules     []Rule  `json:"rules"`
	Partition [][]int `json:"partition,omitempty"`
	// PausedUntil is set while the peer is paused (all traffic dropped).
	PausedUntil *time.Time `json:"paused_until,omitempty"`
}

// ValidatePartition checks that sides is a partition of peer ids: at least
// two non-empty sides, ids from 1, no id on two sides.
func ValidatePartition(sides [][]int) error {
	if len(sides) < 2 {
		return fmt.Errorf("want at least two sides, got %d", len(sides))
	}
	seen := map[int]int{}
	for i, side := range sides {
		if len(side) == 0 {
			return fmt.Errorf("side %d is empty", i+1)
		}
		for _, id := range side {
			if id < 1 {
				return fmt.Errorf("side %d: %d is not a peer id (ids are hostsfile line numbers, from 1)", i+1, id)
			}
			if j, dup := seen[id]; dup {
				if j == i {
					return fmt.Errorf("side %d names peer %d twice", i+1, id)
				}
				return fmt.Errorf("peer %d is on sides %d and %d", id, j+1, i+1)
			}
			seen[id] = i
		}
	}
	return nil
}

// sideIndex maps each peer of a partition to the index of its side.
func sideIndex(sides [][]int) map[int]int {
	if len(sides) == 0 {
		return nil
	}
	m := map[int]int{}
	for i, side := range sides {
		for _, id := range side {
			m[id] = i
		}
	}
	return m
}
