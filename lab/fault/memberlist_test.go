package fault

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// In these tests peer 3 is a witness: a packet (or stream) from 3 sent after
// the one under test arrives after it if that one was sent at all, since
// loopback UDP (and the accept queue) deliver in order. So "the witness's
// packet comes first" proves the other was dropped, without waiting.

func TestTransportBlockStopsPacketsAndStreamsBothWaysAndHealRestores(t *testing.T) {
	const sub = 1
	p1, p2, p3 := newGossipPeer(t, sub, 1, 3, 1), newGossipPeer(t, sub, 2, 3, 2), newGossipPeer(t, sub, 3, 3, 3)

	// Before: traffic flows both ways, and streams come from the peer's IP.
	p1.send(t, p2, "hello 2")
	p2.expectPacket(t, "hello 2", p1.ip)
	p2.send(t, p1, "hello 1")
	p1.expectPacket(t, "hello 1", p2.ip)

	// A live stream, opened before the block, is cut when it starts.
	live, err := p1.tr.DialTimeout(p2.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	liveAt2 := p2.expectStream(t, p1.ip)
	expectEcho(t, live, liveAt2, "before")

	// Peer 1 blocks peer 2: only peer 1 has a rule.
	if err := p1.inj.SetRules([]Rule{{Peers: []int{2}, Block: true}}); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, liveAt2, "stream 1->2 open when the block started")

	// Packets 1->2 are dropped at the sender, as if sent.
	p1.send(t, p2, "blocked 1->2")
	p3.send(t, p2, "witness")
	p2.expectPacket(t, "witness", p3.ip)
	// Packets 2->1 leave 2 and are dropped on arrival at 1.
	p2.send(t, p1, "blocked 2->1")
	p3.send(t, p1, "witness")
	p1.expectPacket(t, "witness", p3.ip)

	// Streams 1->2 are refused; streams 2->1 are closed on arrival.
	_, err = p1.tr.DialTimeout(p2.addr, time.Second)
	expectRefused(t, err, "blocked")
	in, err := p2.tr.DialTimeout(p1.addr, time.Second)
	if err != nil {
		t.Fatalf("2 dials 1 (2 has no rule, TCP connects): %v", err)
	}
	defer in.Close()
	expectClosed(t, in, "stream 2->1 while 1 blocks 2")
	w, err := p3.tr.DialTimeout(p1.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p1.expectStream(t, p3.ip)

	// Heal: everything flows again, both ways.
	p1.inj.Clear()
	p1.send(t, p2, "healed 1->2")
	p2.expectPacket(t, "healed 1->2", p1.ip)
	p2.send(t, p1, "healed 2->1")
	p1.expectPacket(t, "healed 2->1", p2.ip)
	out, err := p1.tr.DialTimeout(p2.addr, time.Second)
	if err != nil {
		t.Fatalf("1 dials 2 after heal: %v", err)
	}
	defer out.Close()
	expectEcho(t, out, p2.expectStream(t, p1.ip), "healed 1->2")
	back, err := p2.tr.DialAddressTimeout(addrOf(p1), time.Second)
	if err != nil {
		t.Fatalf("2 dials 1 after heal: %v", err)
	}
	defer back.Close()
	expectEcho(t, back, p1.expectStream(t, p2.ip), "healed 2->1")
}

func TestTransportDirectionAndScope(t *testing.T) {
	const sub = 2
	p1, p2, p3 := newGossipPeer(t, sub, 1, 3, 1), newGossipPeer(t, sub, 2, 3, 2), newGossipPeer(t, sub, 3, 3, 3)

	// Raft-only blocks leave gossip alone.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Scope: Raft, Block: true}})
	p1.send(t, p2, "gossip")
	p2.expectPacket(t, "gossip", p1.ip)

	// Blocking only what 1 receives from 2: 1->2 flows, 2->1 does not.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Dir: In, Block: true}})
	p1.send(t, p2, "out ok")
	p2.expectPacket(t, "out ok", p1.ip)
	p2.send(t, p1, "in blocked")
	p3.send(t, p1, "witness")
	p1.expectPacket(t, "witness", p3.ip)
	// A connection carries both directions: the one-way block refuses it.
	_, err := p1.tr.DialTimeout(p2.addr, time.Second)
	expectRefused(t, err, "blocked")

	// Blocking only what 1 sends to 2.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Dir: Out, Block: true}})
	p2.send(t, p1, "in ok")
	p1.expectPacket(t, "in ok", p2.ip)
	p1.send(t, p2, "out blocked")
	p3.send(t, p2, "witness")
	p2.expectPacket(t, "witness", p3.ip)

	// A partition on 1 alone cuts 1 from 2 both ways, and leaves 3 (same
	// side) alone.
	p1.inj.SetRules(nil)
	p1.inj.SetPartition([][]int{{1, 3}, {2}})
	p1.send(t, p3, "same side")
	p3.expectPacket(t, "same side", p1.ip)
	p2.send(t, p1, "other side")
	p3.send(t, p1, "witness")
	p1.expectPacket(t, "witness", p3.ip)
}

func TestTransportLossDropsAboutPWithFixedSeed(t *testing.T) {
	const (
		sub  = 3
		n    = 400
		p    = 0.3
		seed = 11
	)
	p1, p2, p3 := newGossipPeer(t, sub, 1, 3, seed), newGossipPeer(t, sub, 2, 3, 2), newGossipPeer(t, sub, 3, 3, 3)
	rules := []Rule{{Peers: []int{2}, Dir: Out, Loss: p}}
	p1.inj.SetRules(rules)
	// A shadow injector with the same seed predicts every draw: each
	// packet it keeps must be the next to arrive, so drops are exactly
	// where the seed says, not merely as many.
	shadow := New(Options{Self: 1, Seed: seed})
	shadow.SetRules(rules)
	drops := 0
	for k := range n {
		msg := fmt.Sprintf("packet %d", k)
		p1.send(t, p2, msg)
		if shadow.judge(2, Out, Gossip).pass() {
			p2.expectPacket(t, msg, p1.ip)
		} else {
			drops++
		}
	}
	p3.send(t, p2, "witness")
	p2.expectPacket(t, "witness", p3.ip)
	sigma := math.Sqrt(n * p * (1 - p))
	if math.Abs(float64(drops)-n*p) > 5*sigma {
		t.Fatalf("%d of %d packets dropped at loss %v, want %v ± %.0f", drops, n, p, n*p, 5*sigma)
	}
	t.Logf("loss %v: %d of %d packets dropped (expected %v)", p, drops, n, n*p)
}

func TestTransportDelay(t *testing.T) {
	const sub = 4
	p1, p2, p3 := newGossipPeer(t, sub, 1, 3, 1), newGossipPeer(t, sub, 2, 3, 2), newGossipPeer(t, sub, 3, 3, 3)
	const d, j = 150 * time.Millisecond, 50 * time.Millisecond

	// Outgoing: WriteTo returns at once, the packet arrives d ± j later.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Dir: Out, Delay: Duration(d), Jitter: Duration(j)}})
	for k := range 3 {
		msg := fmt.Sprintf("late %d", k)
		t0 := time.Now()
		p1.send(t, p2, msg)
		if took := time.Since(t0); took > d-j {
			t.Fatalf("a delayed WriteTo blocked the caller for %v", took)
		}
		p2.expectPacket(t, msg, p1.ip)
		if took := time.Since(t0); took < d-j || took > d+j+time.Second {
			t.Fatalf("packet took %v, want %v ± %v", took, d, j)
		}
	}

	// Incoming: a delayed packet does not hold up the others, and its
	// timestamp is its (late) arrival.
	p1.inj.Clear()
	p2.inj.SetRules([]Rule{{Peers: []int{1}, Dir: In, Delay: Duration(300 * time.Millisecond)}})
	t0 := time.Now()
	p1.send(t, p2, "slow")
	p3.send(t, p2, "fast")
	p2.expectPacket(t, "fast", p3.ip)
	pk := p2.expectPacket(t, "slow", p1.ip)
	if took := time.Since(t0); took < 300*time.Millisecond {
		t.Fatalf("incoming packet delayed %v, want at least 300ms", took)
	}
	if pk.Timestamp.Sub(t0) < 300*time.Millisecond {
		t.Fatalf("delayed packet stamped %v after sending, want its arrival (>= 300ms)", pk.Timestamp.Sub(t0))
	}
}

func TestTransportShutdownIsPromptAndIdempotent(t *testing.T) {
	p1 := newGossipPeer(t, 5, 1, 2, 1)
	p2 := newGossipPeer(t, 5, 2, 2, 2)
	// Leave undelivered traffic behind: nobody reads p1's channels.
	p2.send(t, p1, "unread")
	c, err := p2.tr.DialTimeout(p1.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- p1.tr.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown hung with undelivered packets and streams")
	}
	if err := p1.tr.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}
