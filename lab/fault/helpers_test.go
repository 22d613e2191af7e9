package fault

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// The wrapper tests tell peers apart by IP, so each peer binds its own
// loopback IP from 127.77.0.0/16 (Linux routes all of 127/8 to lo), a range
// other tests are unlikely to use. Each test takes its own third octet.

// peerIP returns the loopback IP of peer id in the test's subnet.
func peerIP(subnet, id int) string { return fmt.Sprintf("127.77.%d.%d", subnet, id) }

// needLoopbackIP skips the test when the host cannot bind ip (only
// 127.0.0.1 is bound on some systems).
func needLoopbackIP(t *testing.T, ip string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot bind %s on this host: %v", ip, err)
	}
	ln.Close()
}

// resolverFor maps the first n peer IPs of a subnet to their ids.
func resolverFor(subnet, n int) AddrMap {
	m := AddrMap{}
	for id := 1; id <= n; id++ {
		m[peerIP(subnet, id)] = id
	}
	return m
}

// gossipPeer is one peer of a transport test: a real memberlist
// NetTransport on its own loopback IP, wrapped by its own Injector.
type gossipPeer struct {
	id   int
	ip   string
	addr string // ip:port
	inj  *Injector
	tr   memberlist.NodeAwareTransport
}

// newGossipPeer starts peer id of subnet, with a wrapped NetTransport that
// is shut down at the end of the test.
func newGossipPeer(t *testing.T, subnet, id, n int, seed uint64) *gossipPeer {
	t.Helper()
	ip := peerIP(subnet, id)
	nt := newNetTransport(t, ip)
	inj := New(Options{Self: id, Resolver: resolverFor(subnet, n), Seed: seed, LocalIP: net.ParseIP(ip)})
	p := &gossipPeer{
		id:   id,
		ip:   ip,
		addr: net.JoinHostPort(ip, fmt.Sprint(nt.GetAutoBindPort())),
		inj:  inj,
		tr:   inj.WrapTransport(nt),
	}
	t.Cleanup(func() { p.tr.Shutdown() })
	return p
}

// send writes payload from p to q as a UDP packet.
func (p *gossipPeer) send(t *testing.T, q *gossipPeer, payload string) {
	t.Helper()
	if _, err := p.tr.WriteTo([]byte(payload), q.addr); err != nil {
		t.Fatalf("peer %d WriteTo peer %d: %v", p.id, q.id, err)
	}
}

// expectPacket fails unless the next packet p receives is payload, from
// the peer at fromIP.
func (p *gossipPeer) expectPacket(t *testing.T, payload, fromIP string) *memberlist.Packet {
	t.Helper()
	select {
	case pk := <-p.tr.PacketCh():
		if got := string(pk.Buf); got != payload {
			t.Fatalf("peer %d received %q first, want %q", p.id, got, payload)
		}
		if got := hostOfNetAddr(pk.From); got != fromIP {
			t.Fatalf("peer %d received %q from %s, want from %s", p.id, payload, got, fromIP)
		}
		return pk
	case <-time.After(5 * time.Second):
		t.Fatalf("peer %d received nothing in 5s, want %q", p.id, payload)
	}
	return nil
}

// expectStream fails unless the next stream p receives comes from fromIP.
func (p *gossipPeer) expectStream(t *testing.T, fromIP string) net.Conn {
	t.Helper()
	select {
	case c := <-p.tr.StreamCh():
		if got := hostOfNetAddr(c.RemoteAddr()); got != fromIP {
			c.Close()
			t.Fatalf("peer %d got a stream from %s first, want from %s", p.id, got, fromIP)
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatalf("peer %d got no stream in 5s, want one from %s", p.id, fromIP)
	}
	return nil
}

// expectClosed fails unless the remote end closes c within 5 s.
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 16))
	if err == nil {
		t.Fatalf("%s: read data, want the connection closed", what)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: still open after 5s", what)
	}
}

// expectEcho writes msg on a and fails unless b reads exactly msg.
func expectEcho(t *testing.T, a, b net.Conn, msg string) {
	t.Helper()
	if _, err := a.Write([]byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != msg {
		t.Fatalf("read %q, %v; want %q", buf, err, msg)
	}
	b.SetReadDeadline(time.Time{})
}

// expectRefused fails unless err is a fault refusal for the given reason.
func expectRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) || fe.Reason != reason || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error %v, want a fault refusal (%s)", err, reason)
	}
}

// addrOf is p's memberlist Address.
func addrOf(p *gossipPeer) memberlist.Address {
	return memberlist.Address{Addr: p.addr, Name: fmt.Sprint(p.id)}
}

// newNetTransport returns a real memberlist NetTransport on ip (a loopback
// address this host must have), on a free port, logging nowhere.
func newNetTransport(t *testing.T, ip string) *memberlist.NetTransport {
	t.Helper()
	needLoopbackIP(t, ip)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{ip},
		BindPort:  0,
		Logger:    log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatalf("NetTransport on %s: %v", ip, err)
	}
	return nt
}
