package fault

import (
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"roster/internal/testkit"
)

// startMemberlist runs a real memberlist on peer id's loopback IP, over a
// NetTransport wrapped by inj, tuned to detect failures in well under a
// second.
func startMemberlist(t *testing.T, subnet, id int, inj *Injector) *memberlist.Memberlist {
	t.Helper()
	ip := peerIP(subnet, id)
	nt := newNetTransport(t, ip)
	conf := memberlist.DefaultLocalConfig()
	conf.Name = fmt.Sprint("peer", id)
	conf.Transport = inj.WrapTransport(nt)
	conf.ProbeInterval = 100 * time.Millisecond
	conf.ProbeTimeout = 50 * time.Millisecond
	conf.SuspicionMult = 1
	conf.GossipInterval = 20 * time.Millisecond
	conf.TCPTimeout = 200 * time.Millisecond
	conf.PushPullInterval = 0 // rejoining is the test's job, as it is the node's
	conf.LogOutput = io.Discard
	m, err := memberlist.Create(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// alive returns the names memberlist considers alive (or suspect), sorted.
func alive(m *memberlist.Memberlist) []string {
	var names []string
	for _, n := range m.Members() {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return names
}

func TestMemberlistBlockedPeersMarkEachOtherDeadAndRejoinAfterHeal(t *testing.T) {
	const sub = 21
	res := resolverFor(sub, 2)
	inj1 := New(Options{Self: 1, Resolver: res, Seed: 1, LocalIP: net.ParseIP(peerIP(sub, 1))})
	inj2 := New(Options{Self: 2, Resolver: res, Seed: 2, LocalIP: net.ParseIP(peerIP(sub, 2))})
	m1 := startMemberlist(t, sub, 1, inj1)
	m2 := startMemberlist(t, sub, 2, inj2)
	if _, err := m2.Join([]string{m1.LocalNode().FullAddress().Addr}); err != nil {
		t.Fatal(err)
	}
	both := []string{"peer1", "peer2"}
	testkit.Eventually(t, 10*time.Second, "both peers to see each other", func() bool {
		return slices.Equal(alive(m1), both) && slices.Equal(alive(m2), both)
	})

	// Block on peer 1 only: since 1 drops both ways, each side's probes
	// fail, UDP and TCP fallback alike, and each marks the other dead.
	inj1.SetRules([]Rule{{Peers: []int{2}, Block: true}})
	t0 := time.Now()
	testkit.Eventually(t, 10*time.Second, "each peer to mark the other dead", func() bool {
		return slices.Equal(alive(m1), []string{"peer1"}) && slices.Equal(alive(m2), []string{"peer2"})
	})
	t.Logf("both peers marked the other dead %v after the block", time.Since(t0).Round(time.Millisecond))

	// While blocked, a join fails.
	if _, err := m1.Join([]string{m2.LocalNode().FullAddress().Addr}); err == nil {
		t.Fatal("join across the block succeeded")
	}

	// Heal and rejoin: both are alive again at both.
	inj1.Clear()
	t0 = time.Now()
	if _, err := m1.Join([]string{m2.LocalNode().FullAddress().Addr}); err != nil {
		t.Fatalf("join after heal: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "both peers alive again after heal and rejoin", func() bool {
		return slices.Equal(alive(m1), both) && slices.Equal(alive(m2), both)
	})
	t.Logf("both peers alive again %v after heal", time.Since(t0).Round(time.Millisecond))
}
