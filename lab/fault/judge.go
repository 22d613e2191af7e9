package fault

import (
	"fmt"
	"strings"
	"time"
)

// verdict is what the faults do to one message.
type verdict struct {
	block bool          // blocked by a partition, a block rule or a pause
	drop  bool          // lost to a Loss draw
	delay time.Duration // total delay, jitter drawn
}

// pass reports whether the message goes through (possibly delayed).
func (v verdict) pass() bool { return !v.block && !v.drop }

// peerOf resolves a bare host to a peer id; 0 means unknown.
func (i *Injector) peerOf(host string) int {
	if i.res == nil || host == "" {
		return 0
	}
	id, ok := i.res.PeerByAddr(host)
	if !ok || id < 1 {
		return 0
	}
	return id
}

// judge decides the fate of one message with remote peer (0 if unknown)
// in direction dir (In or Out) and scope sc, drawing losses and jitter.
func (i *Injector) judge(peer int, dir Direction, sc Scope) verdict {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.blockedLocked(peer, dir, sc) {
		return verdict{block: true}
	}
	var v verdict
	if peer == 0 || peer == i.self {
		return v
	}
	for _, r := range i.state.Rules {
		if !r.matches(peer, dir, sc) {
			continue
		}
		if r.Loss > 0 && i.rng.Float64() < r.Loss {
			v.drop = true
		}
		d := time.Duration(r.Delay)
		if j := int64(r.Jitter); j > 0 {
			d += time.Duration(i.rng.Int64N(2*j+1) - j)
		}
		v.delay += d
	}
	return v
}

// blocked reports whether traffic with peer in direction dir (In, Out, or
// Both for either) and scope sc is blocked, without drawing anything.
func (i *Injector) blocked(peer int, dir Direction, sc Scope) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.blockedLocked(peer, dir, sc)
}

// blockedLocked is blocked with i.mu held.
func (i *Injector) blockedLocked(peer int, dir Direction, sc Scope) bool {
	if time.Now().Before(i.pausedUntil) {
		return true
	}
	if peer == 0 || peer == i.self {
		return false
	}
	if i.sides != nil {
		mine, ok1 := i.sides[i.self]
		theirs, ok2 := i.sides[peer]
		if !ok1 || !ok2 || mine != theirs {
			return true
		}
	}
	for _, r := range i.state.Rules {
		if r.Block && r.matches(peer, dir, sc) {
			return true
		}
	}
	return false
}

// describeRules renders rules compactly for the change log.
func describeRules(rules []Rule) string {
	if len(rules) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		var b strings.Builder
		switch {
		case len(r.Clients) > 0:
			fmt.Fprintf(&b, "checks of clients %v:", r.Clients)
		case len(r.Peers) == 0:
			b.WriteString("every peer")
		default:
			fmt.Fprintf(&b, "peers %v", r.Peers)
		}
		if len(r.Clients) == 0 {
			fmt.Fprintf(&b, " %s %s:", r.Dir, r.Scope)
		}
		if r.Block {
			b.WriteString(" block")
		}
		if r.Loss > 0 {
			fmt.Fprintf(&b, " loss %g", r.Loss)
		}
		if r.Delay > 0 {
			fmt.Fprintf(&b, " delay %v±%v", time.Duration(r.Delay), time.Duration(r.Jitter))
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; ")
}
