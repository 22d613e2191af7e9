package fault

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Error is returned by wrapped dials, reads and writes that a fault refused
// or cut.
type Error struct {
	Op     string // "dial", "read" or "write"
	Peer   int    // remote peer id, 0 when unknown
	Addr   string // remote host
	Reason string // "blocked" (partition, block rule or pause) or "lost" (a Loss draw)
}

// Error says what was refused or cut, with whom, and why.
func (e *Error) Error() string {
	who := e.Addr
	if e.Peer > 0 {
		who = fmt.Sprintf("peer %d (%s)", e.Peer, e.Addr)
	}
	if e.Op == "dial" {
		return fmt.Sprintf("fault: dial to %s refused: %s", who, e.Reason)
	}
	return fmt.Sprintf("fault: connection with %s cut at %s: %s", who, e.Op, e.Reason)
}

func reason(v verdict) string {
	if v.block {
		return "blocked"
	}
	return "lost"
}

// conn is a connection with a remote peer that the Injector tracks, so it
// can close it when a fault starts blocking the peer. Each Read and Write is
// judged: blocked or lost closes the connection, a delay sleeps. Safe for the
// usual concurrent use of a net.Conn (one reader, one writer, Close from
// anywhere).
type conn struct {
	net.Conn
	inj   *Injector
	peer  atomic.Int64 // remote peer id, 0 until the Resolver knows host
	host  string
	scope Scope

	once     sync.Once
	closeErr error
}

// remote returns the remote peer id, asking the Resolver again while it is
// unknown: a connection may come before the address is learned (a peer
// learns the others' container IPs from memberlist), and must not escape the
// faults that start later.
func (c *conn) remote() int {
	p := c.peer.Load()
	if p == 0 {
		if p = int64(c.inj.peerOf(c.host)); p != 0 {
			c.peer.Store(p)
		}
	}
	return int(p)
}

// Read reads from the connection, then cuts it (with probability Loss, or
// when blocked) or sleeps the delay before returning the bytes.
func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n == 0 {
		return n, err
	}
	peer := c.remote()
	v := c.inj.judge(peer, In, c.scope)
	if !v.pass() {
		c.Close()
		return 0, &Error{Op: "read", Peer: peer, Addr: c.host, Reason: reason(v)}
	}
	if v.delay > 0 {
		time.Sleep(v.delay)
	}
	return n, err
}

// Write cuts the connection (with probability Loss, or when blocked), or
// sleeps the delay, then writes.
func (c *conn) Write(b []byte) (int, error) {
	peer := c.remote()
	v := c.inj.judge(peer, Out, c.scope)
	if !v.pass() {
		c.Close()
		return 0, &Error{Op: "write", Peer: peer, Addr: c.host, Reason: reason(v)}
	}
	if v.delay > 0 {
		time.Sleep(v.delay)
	}
	return c.Conn.Write(b)
}

// Close closes the connection and stops tracking it. Later calls return the
// first call's result.
func (c *conn) Close() error {
	c.once.Do(func() {
		c.inj.mu.Lock()
		delete(c.inj.conns, c)
		c.inj.mu.Unlock()
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// track wraps nc as a tracked conn with peer, or closes it and returns nil
// when the peer is blocked by now (a fault may have started since the check
// at dial or accept time).
func (i *Injector) track(nc net.Conn, peer int, host string, sc Scope) *conn {
	c := &conn{Conn: nc, inj: i, host: host, scope: sc}
	c.peer.Store(int64(peer))
	i.mu.Lock()
	if i.blockedLocked(peer, Both, sc) {
		i.mu.Unlock()
		nc.Close()
		return nil
	}
	i.conns[c] = struct{}{}
	i.mu.Unlock()
	return c
}

// admit judges an incoming connection: it returns nc wrapped, or closes it
// and returns nil when the sender is blocked or the connection is lost.
func (i *Injector) admit(nc net.Conn, sc Scope) net.Conn {
	host := hostOfNetAddr(nc.RemoteAddr())
	peer := i.peerOf(host)
	if i.blocked(peer, Both, sc) || !i.judge(peer, In, sc).pass() {
		nc.Close()
		return nil
	}
	if c := i.track(nc, peer, host, sc); c != nil {
		return c
	}
	return nil
}

// dial refuses a dial to addr when the peer is blocked or the dial is lost,
// and otherwise dials with fn and returns the connection wrapped.
func (i *Injector) dial(addr string, sc Scope, fn func() (net.Conn, error)) (net.Conn, error) {
	host := Host(addr)
	peer := i.peerOf(host)
	if i.blocked(peer, Both, sc) {
		return nil, &Error{Op: "dial", Peer: peer, Addr: host, Reason: "blocked"}
	}
	if v := i.judge(peer, Out, sc); !v.pass() {
		return nil, &Error{Op: "dial", Peer: peer, Addr: host, Reason: reason(v)}
	}
	nc, err := fn()
	if err != nil {
		return nil, err
	}
	if c := i.track(nc, peer, host, sc); c != nil {
		return c, nil
	}
	return nil, &Error{Op: "dial", Peer: peer, Addr: host, Reason: "blocked"}
}
