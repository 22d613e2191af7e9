package detector

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"roster/internal/testkit"
)

// TestFollowsMovedPeer: p3 crashes and comes back at another address (a pod
// restarted elsewhere) before the others' memberlist has declared its old
// address dead, so memberlist refuses the new one for a while. The others
// follow it to the new address at once (it answers there, and not at the
// old one), and memberlist's later verdict on the old address confirms
// nothing down: p3 was alive throughout.
func TestFollowsMovedPeer(t *testing.T) {
	c := newTestCluster(t, 3)
	p1, p2 := c.start(1, 0), c.start(2, 0)
	c.start(3, 0)
	c.converge(1, 2, 3)
	c.peers[2].Shutdown() // a crash: no leave

	moved := c.ip(9)
	logs := &testkit.SyncBuffer{}
	cfg := Config{
		Self: c.hosts.Peers[2], Hosts: c.hosts, BindAddr: moved, AdvertiseAddr: moved, Port: gossipPort,
		Meta:   Meta{RaftPort: 1, Life: 2},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "p3", Output: logs, Level: hclog.Info}),
	}
	p3, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p3.Shutdown() })
	p3.JoinNow()

	memberlistAt := func(p *peer, ip string) bool {
		for _, n := range p.ml.Load().Members() {
			if n.Name == "p3" {
				return n.Addr.String() == ip
			}
		}
		return false
	}
	for _, p := range []*peer{p1, p2} {
		testkit.Eventually(t, deadline, "p3 seen at its new address", func() bool {
			m, ok := p.Members()[3]
			return ok && m.Addr.String() == moved
		})
		// memberlist itself takes the new address only after its verdict
		// on the old one: by then no check may have confirmed p3 down.
		testkit.Eventually(t, deadline, "memberlist to take p3's new address", func() bool { return memberlistAt(p, moved) })
		testkit.Eventually(t, deadline, "no check of p3 in flight", func() bool { return !p.checking(3) })
		if n := p.downCount(3); n != 0 {
			t.Errorf("p3 confirmed down %d times, alive at its new address throughout\n%s", n, p.logs.String())
		}
		if !strings.Contains(p.logs.String(), "following it there") {
			t.Errorf("p3 not followed to its new address before memberlist took it\n%s", p.logs.String())
		}
	}
}
