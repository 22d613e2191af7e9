package fault

import (
	"errors"
	"math"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"roster/internal/testkit"
)

// tcpLayer is a Raft StreamLayer over TCP whose dials leave from the
// peer's own IP, so the other end can tell who dials (the kernel would pick
// 127.0.0.1 for every peer on lo otherwise). The peer has its own.
type tcpLayer struct {
	net.Listener
	from *net.TCPAddr
}

func (l *tcpLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: l.from}
	return d.Dial("tcp", string(address))
}

// raftPeer is one peer of a stream layer test: a real TCP listener on its
// own loopback IP, wrapped by its own Injector, and its accepted conns.
type raftPeer struct {
	id       int
	ip       string
	inj      *Injector
	layer    raft.StreamLayer
	accepted chan net.Conn
}

func newRaftPeer(t *testing.T, subnet, id, n int, seed uint64) *raftPeer {
	t.Helper()
	ip := peerIP(subnet, id)
	needLoopbackIP(t, ip)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	tcp := &tcpLayer{Listener: ln, from: &net.TCPAddr{IP: net.ParseIP(ip)}}
	inj := New(Options{Self: id, Resolver: resolverFor(subnet, n), Seed: seed})
	p := &raftPeer{id: id, ip: ip, inj: inj, layer: inj.WrapStreamLayer(tcp), accepted: make(chan net.Conn, 16)}
	go func() {
		for {
			c, err := p.layer.Accept()
			if err != nil {
				close(p.accepted)
				return
			}
			p.accepted <- c
		}
	}()
	t.Cleanup(func() {
		p.layer.Close()
		for c := range p.accepted {
			c.Close()
		}
	})
	return p
}

// dial connects p to q through p's wrapped layer.
func (p *raftPeer) dial(q *raftPeer) (net.Conn, error) {
	return p.layer.Dial(raft.ServerAddress(q.layer.Addr().String()), time.Second)
}

// mustDial connects p to q and returns both ends.
func (p *raftPeer) mustDial(t *testing.T, q *raftPeer) (mine, theirs net.Conn) {
	t.Helper()
	c, err := p.dial(q)
	if err != nil {
		t.Fatalf("peer %d dials %d: %v", p.id, q.id, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, q.expectAccept(t, p.ip)
}

// expectAccept fails unless q's next accepted conn comes from fromIP.
func (q *raftPeer) expectAccept(t *testing.T, fromIP string) net.Conn {
	t.Helper()
	select {
	case c := <-q.accepted:
		if got := hostOfNetAddr(c.RemoteAddr()); got != fromIP {
			t.Fatalf("peer %d accepted a conn from %s first, want from %s", q.id, got, fromIP)
		}
		return c
	case <-time.After(5 * time.Second):
		t.Fatalf("peer %d accepted nothing in 5s, want a conn from %s", q.id, fromIP)
	}
	return nil
}

func TestStreamLayerBlockClosesLiveConnsAndRefusesBothWays(t *testing.T) {
	const sub = 11
	p1, p2, p3 := newRaftPeer(t, sub, 1, 3, 1), newRaftPeer(t, sub, 2, 3, 2), newRaftPeer(t, sub, 3, 3, 3)

	// Pooled connections both ways, opened before the block.
	out12, at2 := p1.mustDial(t, p2)
	expectEcho(t, out12, at2, "append entries")
	expectEcho(t, at2, out12, "ok")
	out21, at1 := p2.mustDial(t, p1)
	expectEcho(t, out21, at1, "request vote")

	// Gossip-only blocks leave Raft alone.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Scope: Gossip, Block: true}})
	expectEcho(t, out12, at2, "still up")

	// Block raft to peer 2 only (the leader-crash scenario): both live
	// conns are closed at once, seen from the other end too.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Scope: Raft, Block: true}})
	expectClosed(t, at2, "conn 1->2 open when the block started")
	expectClosed(t, out21, "conn 2->1 open when the block started")
	if _, err := out12.Write([]byte("x")); err == nil {
		t.Fatal("write on a conn cut by the block succeeded")
	}

	// New conns: 1->2 refused at dial; 2->1 connects at TCP level and is
	// closed by 1's Accept, which keeps accepting (3's conn comes next).
	_, err := p1.dial(p2)
	expectRefused(t, err, "blocked")
	in, err := p2.dial(p1)
	if err != nil {
		t.Fatalf("2 dials 1 (2 has no rule): %v", err)
	}
	defer in.Close()
	expectClosed(t, in, "conn 2->1 while 1 blocks 2")
	p3.mustDial(t, p1)
	// Peer 3 is untouched.
	a, b := p1.mustDial(t, p3)
	expectEcho(t, a, b, "to 3")

	// Heal.
	p1.inj.SetRules(nil)
	a, b = p1.mustDial(t, p2)
	expectEcho(t, a, b, "healed 1->2")
	a, b = p2.mustDial(t, p1)
	expectEcho(t, a, b, "healed 2->1")
}

func TestStreamLayerPartitionAndPauseCloseLiveConns(t *testing.T) {
	const sub = 12
	p1, p2, p3 := newRaftPeer(t, sub, 1, 3, 1), newRaftPeer(t, sub, 2, 3, 2), newRaftPeer(t, sub, 3, 3, 3)
	_, at2 := p1.mustDial(t, p2)
	_, at3 := p1.mustDial(t, p3)

	// Partition {1,3} | {2}, installed on 1: the conn to 2 goes, 3's stays.
	p1.inj.SetPartition([][]int{{1, 3}, {2}})
	expectClosed(t, at2, "conn to the other side")
	a, b := p3.mustDial(t, p1)
	expectEcho(t, a, b, "same side")
	p1.inj.Heal()
	p1.mustDial(t, p2)

	// Pause: every conn goes, new ones are refused, then all comes back.
	p1.inj.Pause(300 * time.Millisecond)
	expectClosed(t, at3, "conn to 3 when the pause started")
	expectClosed(t, a, "conn from 3 when the pause started")
	_, err := p1.dial(p3)
	expectRefused(t, err, "blocked")
	testkit.Eventually(t, 5*time.Second, "the end of the pause", func() bool { return !p1.inj.blocked(3, Both, Raft) })
	a, b = p1.mustDial(t, p3)
	expectEcho(t, a, b, "after the pause")
}

func TestStreamLayerLossCutsConnsAboutP(t *testing.T) {
	const (
		sub = 13
		p   = 0.2
		n   = 600
	)
	p1, p2 := newRaftPeer(t, sub, 1, 2, 5), newRaftPeer(t, sub, 2, 2, 6)
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Dir: Out, Loss: p}})
	// Count outcomes of n attempts (dials and writes each draw once).
	var cuts, refused, attempts int
	var c, remote net.Conn
	for attempts < n {
		if c == nil {
			attempts++
			var err error
			if c, err = p1.dial(p2); err != nil {
				expectRefused(t, err, "lost")
				refused++
				c = nil
				continue
			}
			remote = p2.expectAccept(t, p1.ip)
		}
		attempts++
		if _, err := c.Write([]byte("entry")); err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Reason != "lost" {
				t.Fatalf("write: %v, want a fault cut (lost)", err)
			}
			expectClosed(t, remote, "conn cut by loss")
			remote.Close()
			cuts++
			c = nil
			continue
		}
		buf := make([]byte, 5)
		remote.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := remote.Read(buf); err != nil {
			t.Fatalf("a write that was not cut did not arrive: %v", err)
		}
	}
	if c != nil {
		c.Close()
		remote.Close()
	}
	lost := cuts + refused
	sigma := math.Sqrt(n * p * (1 - p))
	if math.Abs(float64(lost)-n*p) > 5*sigma {
		t.Fatalf("%d of %d dials and writes lost at loss %v, want %v ± %.0f", lost, n, p, n*p, 5*sigma)
	}
	t.Logf("loss %v: %d cuts and %d refused dials in %d attempts (expected %v)", p, cuts, refused, n, n*p)
}

func TestStreamLayerDelaysWrites(t *testing.T) {
	const sub = 14
	p1, p2 := newRaftPeer(t, sub, 1, 2, 1), newRaftPeer(t, sub, 2, 2, 2)
	a, b := p1.mustDial(t, p2)
	const d = 150 * time.Millisecond
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Dir: Out, Scope: Raft, Delay: Duration(d)}})
	t0 := time.Now()
	expectEcho(t, a, b, "slow")
	if took := time.Since(t0); took < d {
		t.Fatalf("write arrived after %v, want at least %v", took, d)
	}
	// The other direction is not delayed by an Out rule.
	t0 = time.Now()
	expectEcho(t, b, a, "fast")
	if took := time.Since(t0); took >= d {
		t.Fatalf("reply took %v, want no delay", took)
	}
	// An In rule delays what 1 reads.
	p1.inj.SetRules([]Rule{{Peers: []int{2}, Dir: In, Delay: Duration(d)}})
	t0 = time.Now()
	expectEcho(t, b, a, "slow read")
	if took := time.Since(t0); took < d {
		t.Fatalf("read returned after %v, want at least %v", took, d)
	}
}
