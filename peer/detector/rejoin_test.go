package detector

import (
	"context"
	"net"
	"strconv"
	"testing"

	"roster/internal/testkit"
)

// holdTCP holds every connection to ip's gossip port open without
// answering, until the test ends: a re-join of that address stays in
// flight for memberlist's TCP timeout.
func holdTCP(t *testing.T, ip string) {
	t.Helper()
	testkit.StallingListener(t, net.JoinHostPort(ip, strconv.Itoa(gossipPort)))
}

func (p *peer) joiningCount() int {
	p.Detector.mu.Lock()
	defer p.Detector.mu.Unlock()
	return len(p.joining)
}

// TestRejoinFanout: a peer that sees fewer than half the hostsfile peers
// re-joins up to four missing ones at a time; one that sees half or more,
// one at a time (200 peers started at once, each re-joining four, kept
// memberlist busy exchanging whole memberships).
func TestRejoinFanout(t *testing.T) {
	c := newTestCluster(t, 6)
	for id := 2; id <= 6; id++ {
		holdTCP(t, c.ip(id)) // peers 2..6 do not answer yet
	}
	p1 := c.start(1, 0)
	// Alone: five missing, four re-joins in flight (held for the TCP timeout).
	testkit.Eventually(t, deadline, "four re-joins in flight at p1 alone", func() bool { return p1.joiningCount() == rejoinFanout })
	p1.rejoinMissing(context.Background())
	if n := p1.joiningCount(); n > rejoinFanout {
		t.Fatalf("%d re-joins in flight alone, want at most %d", n, rejoinFanout)
	}
	if rejoinFanoutSeen >= rejoinFanout {
		t.Fatalf("rejoinFanoutSeen %d, rejoinFanout %d: the test needs fewer once half is seen", rejoinFanoutSeen, rejoinFanout)
	}

	// Seeing four of six (itself included): one at a time.
	c2 := newTestCluster(t, 6)
	for id := 5; id <= 6; id++ {
		holdTCP(t, c2.ip(id))
	}
	for id := 1; id <= 4; id++ {
		c2.start(id, 0)
	}
	c2.converge(1, 2, 3, 4)
	q1 := c2.peers[0]
	testkit.Eventually(t, deadline, "a re-join in flight at a peer seeing four of six", func() bool { return q1.joiningCount() == rejoinFanoutSeen })
	q1.rejoinMissing(context.Background())
	if n := q1.joiningCount(); n > rejoinFanoutSeen {
		t.Fatalf("%d re-joins in flight seeing four of six, want at most %d", n, rejoinFanoutSeen)
	}
}
