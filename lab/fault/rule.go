package fault

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Direction says which way a rule acts, seen from this peer: on traffic it
// receives (In), on traffic it sends (Out), or both. The empty Direction means
// Both.
type Direction string

// The directions a rule can act in.
const (
	Both Direction = "both"
	In   Direction = "in"
	Out  Direction = "out"
)

// Scope says which traffic a rule acts on: memberlist's (Gossip, UDP packets
// and TCP streams), Raft's (TCP connections), or All. The empty Scope means All.
type Scope string

// The scopes a rule can act on.
const (
	All    Scope = "all"
	Gossip Scope = "gossip"
	Raft   Scope = "raft"
	// API is the client groups traffic one peer sends another through the
	// groups' dialer (forwarded writes, keepalives, indirect checks).
	API Scope = "api"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("50ms", "1.5s").
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "50ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string such as "50ms" ("0" is zero).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"50ms\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration string like \"50ms\", got %q", s)
	}
	*d = Duration(v)
	return nil
}

// Rule is one fault: which traffic it matches (Peers, Dir, Scope) and what it
// does to it (Block, Loss, Delay ± Jitter). A message goes through every rule
// that matches it, as if through each in series: it is blocked if any rule
// blocks it, dropped by each rule with that rule's Loss, and delayed by the
// sum of the rules' delays.
//
// A Rule is a plain value; the Injector copies the rules it is given.
type Rule struct {
	// Peers are the remote peer ids (hostsfile line numbers) the rule
	// matches; empty means every remote peer this peer can identify.
	Peers []int `json:"peers,omitempty"`
	// Dir is the direction the rule acts in ("" means Both).
	Dir Direction `json:"dir,omitempty"`
	// Scope is the traffic the rule acts on ("" means All).
	Scope Scope `json:"scope,omitempty"`
	// Block drops all matching traffic: packets are dropped, dials refused,
	// accepted connections closed, and live connections closed at once.
	// A connection carries both directions, so a rule blocking only one
	// direction still blocks connections.
	Block bool `json:"block,omitempty"`
	// Loss is the probability, in [0, 1], of dropping each matching packet.
	// On TCP it is the probability of refusing a dial or an incoming
	// connection, and of cutting a live connection at each Read (In) or
	// Write (Out): TCP cannot lose bytes, so loss becomes broken connections.
	Loss float64 `json:"loss,omitempty"`
	// Delay is added to each matching packet, and to each Read (In) and
	// Write (Out) on a matching connection.
	Delay Duration `json:"delay,omitempty"`
	// Jitter spreads Delay uniformly over [Delay-Jitter, Delay+Jitter].
	// It may not exceed Delay.
	Jitter Duration `json:"jitter,omitempty"`
	// Clients are client check addresses ("host:port", or "host" for every
	// port): a rule that names them acts only on this peer's dials to them
	// (an owner's checks of those clients), not on any peer's traffic. Dir
	// and Scope do not apply to it.
	Clients []string `json:"clients,omitempty"`
}

// Validate says what is wrong with the rule, if anything.
func (r Rule) Validate() error {
	for i, p := range r.Peers {
		if p < 1 {
			return fmt.Errorf("peers[%d]: %d is not a peer id (ids are hostsfile line numbers, from 1)", i, p)
		}
	}
	switch r.Dir {
	case "", Both, In, Out:
	default:
		return fmt.Errorf("dir %q: want \"in\", \"out\" or \"both\"", r.Dir)
	}
	switch r.Scope {
	case "", All, Gossip, Raft, API:
	default:
		return fmt.Errorf("scope %q: want \"gossip\", \"raft\", \"api\" or \"all\"", r.Scope)
	}
	for i, c := range r.Clients {
		if strings.TrimSpace(c) == "" {
			return fmt.Errorf("clients[%d]: empty address", i)
		}
	}
	if err := checkLoss(r.Loss); err != nil {
		return fmt.Errorf("loss %v: %w", r.Loss, err)
	}
	return checkDelay(time.Duration(r.Delay), time.Duration(r.Jitter))
}

// checkLoss says why p is not a probability.
func checkLoss(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("want a probability between 0 and 1")
	}
	return nil
}

// checkDelay says why delay ± jitter is not a usable delay.
func checkDelay(delay, jitter time.Duration) error {
	if delay < 0 {
		return fmt.Errorf("delay %v: must not be negative", delay)
	}
	if jitter < 0 {
		return fmt.Errorf("jitter %v: must not be negative", jitter)
	}
	if jitter > delay {
		return fmt.Errorf("jitter %v exceeds delay %v (the delay would go negative)", jitter, delay)
	}
	return nil
}

// normalized returns a copy of r with defaults spelled out and its own Peers
// slice, so the caller's slice can change without touching the Injector.
func (r Rule) normalized() Rule {
	if r.Dir == "" {
		r.Dir = Both
	}
	if r.Scope == "" {
		r.Scope = All
	}
	r.Peers = slices.Clone(r.Peers)
	r.Clients = slices.Clone(r.Clients)
	return r
}

// matches reports whether the rule applies to traffic with remote peer in
// direction dir (In or Out, or Both for a connection, which carries both) and
// scope sc (Gossip or Raft).
func (r Rule) matches(peer int, dir Direction, sc Scope) bool {
	if len(r.Clients) > 0 {
		return false
	}
	if dir != Both && r.Dir != Both && r.Dir != dir {
		return false
	}
	if r.Scope != All && r.Scope != sc {
		return false
	}
	return len(r.Peers) == 0 || slices.Contains(r.Peers, peer)
}
