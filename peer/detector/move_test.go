package detector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"roster/internal/testkit"
	"roster/peer/hostsfile"
)

// freePort returns a port free for TCP and UDP on every address.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("0.0.0.0:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestMove: a peer whose address is gone stops memberlist (Suspend); the
// others find it dead; it comes back at another address (Readvertise), and
// the others see it there, under its name.
func TestMove(t *testing.T) {
	c := &testCluster{t: t, subnet: 1 + rand.IntN(250)}
	needLoopbackIP(t, c.ip(1))
	port := freePort(t)
	hosts, err := hostsfile.Parse("test", strings.NewReader(fmt.Sprintf("p1 %s\np2 %s\np3 %s:%d\n", c.ip(1), c.ip(2), c.ip(3), port)))
	if err != nil {
		t.Fatal(err)
	}
	c.hosts, c.peers = hosts, make([]*peer, 3)
	p1, p2 := c.start(1, 0), c.start(2, 0)

	// p3 listens on every address, as a container does, and announces one.
	logs := &testkit.SyncBuffer{}
	p3, err := Start(Config{
		Self: hosts.Peers[2], Hosts: hosts, AdvertiseAddr: c.ip(3), Port: port, Meta: Meta{RaftPort: 1},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "p3", Output: logs, Level: hclog.Info}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p3.Run(ctx, 200*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		p3.Shutdown()
		<-done
	})
	at := func(p *peer, ip string) func() bool {
		return func() bool {
			m, ok := p.Members()[3]
			return ok && m.Addr.String() == ip
		}
	}
	testkit.Eventually(t, deadline, "p1 to see p3 at its address", at(p1, c.ip(3)))
	testkit.Eventually(t, deadline, "p2 to see p3 at its address", at(p2, c.ip(3)))
	if got, _ := p1.RaftAddr(3); got != net.JoinHostPort(c.ip(3), "1") {
		t.Errorf("p1.RaftAddr(3) = %q, want %s:1", got, c.ip(3))
	}

	p3.Suspend()
	if !p3.Suspended() {
		t.Fatal("not suspended after Suspend")
	}
	for _, p := range []*peer{p1, p2} {
		testkit.Eventually(t, deadline, "p3 to leave the members", func() bool { return !p.member(3) })
	}

	moved := c.ip(9)
	if err := p3.Readvertise(moved); err != nil {
		t.Fatal(err)
	}
	if p3.Suspended() || p3.LocalAddr().String() != moved {
		t.Fatalf("after Readvertise: suspended %v, address %v; want false, %s", p3.Suspended(), p3.LocalAddr(), moved)
	}
	testkit.Eventually(t, deadline, "p1 to see p3 at its new address", at(p1, moved))
	testkit.Eventually(t, deadline, "p2 to see p3 at its new address", at(p2, moved))
	testkit.Eventually(t, deadline, "p3 to see p1 and p2 again", func() bool {
		m := p3.Members()
		_, ok1 := m[1]
		_, ok2 := m[2]
		return ok1 && ok2
	})
	if got, _ := p2.RaftAddr(3); got != net.JoinHostPort(moved, "1") {
		t.Errorf("p2.RaftAddr(3) = %q, want %s:1", got, moved)
	}
	t.Logf("p3's log:\n%s", logs.String())
}

// TestLeaveWhileSuspended: a peer whose address is gone (memberlist stopped
// by Suspend) may be told to leave; memberlist's Leave panics on a stopped
// instance, so Leave must not reach it.
func TestLeaveWhileSuspended(t *testing.T) {
	c := newTestCluster(t, 2)
	c.start(1, 0)
	p2 := c.start(2, 0)
	c.converge(1, 2)
	p2.Suspend()
	if err := p2.Leave(time.Second); err != nil {
		t.Fatalf("Leave while suspended: %v", err)
	}
}
