package node

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"roster/peer/raftpeer"
)

// Tethers: each follower holds a connection open to its leader that carries
// nothing after its preamble (raftpeer.WriteTether), and both sides wait on
// it. A process that dies (killed, crashed, out of memory) has its
// connections closed by its kernel at once, so the other side's read ends:
// the leader checks the follower directly, the follower checks the leader
// (detector.Check), long before a heartbeat would be missed (every 0.5-1 s,
// see raftConfig). A tether costs no wake-up while nothing happens. It says
// nothing of a frozen process or a cut network (nothing closes the
// connection): failed heartbeats, silence and memberlist find those.

// tetherRetry is how long a follower waits before it dials its leader again
// after a tether could not be made or was cut.
const tetherRetry = time.Second

// holdTether serves an accepted tether whose first byte was peeked in br:
// it reads the sender's id, then waits until the connection ends, and calls
// OnCut with the id if the other side ended it. Runs on the admitting
// goroutine; Close cuts it.
func (s *stream) holdTether(conn net.Conn, br *bufio.Reader, ip net.IP, from string) {
	defer conn.Close()
	br.ReadByte()
	id, err := raftpeer.ReadTether(br)
	if err == nil && s.cfg.AddrCheck {
		err = s.checkSender(id, ip)
	}
	if err != nil {
		s.cfg.Log.Warn("raft: connection closed: bad tether", "from", from, "error", err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.tethers[conn] = true
	s.mu.Unlock()
	conn.SetReadDeadline(time.Time{})
	var b [1]byte
	_, err = conn.Read(b[:])
	s.mu.Lock()
	_, held := s.tethers[conn]
	delete(s.tethers, conn)
	closed := s.closed
	s.mu.Unlock()
	s.untrack(conn)
	if held && !closed && err != nil && !errors.Is(err, net.ErrClosed) && s.cfg.OnCut != nil {
		s.cfg.OnCut(id)
	}
}

// DialTether dials a tether to the Raft port at hostport, naming self as
// the sender.
func (s *stream) DialTether(hostport, self string, timeout time.Duration) (net.Conn, error) {
	c, err := s.dial(hostport, timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(min(max(timeout, time.Second), handshakeTimeout)))
	if err := raftpeer.WriteTether(c, self); err != nil {
		s.untrack(c)
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// tetherTo tells holdTethers the leader this peer now follows (0 for none,
// or this peer itself). Only the latest value counts.
func (n *Node) tetherTo(leader int) {
	select {
	case <-n.leaders:
	default:
	}
	n.leaders <- leader
}

// holdTethers keeps a tether from this peer to the leader it follows, until
// ctx is done: the leader's end of it tells the leader when this peer dies,
// and this end tells this peer when the leader dies.
func (n *Node) holdTethers(ctx context.Context) {
	leader := 0
	var (
		conn  net.Conn
		cut   chan error // the tether's read ended
		retry <-chan time.Time
	)
	drop := func() {
		if conn != nil {
			conn.Close()
			<-cut
			conn, cut = nil, nil
		}
	}
	defer drop()
	for {
		if conn == nil && retry == nil && leader != 0 && leader != n.cfg.Self.ID {
			c, err := n.dialTether(leader)
			if err != nil {
				n.log.Debug("no tether to the leader", "leader", leader, "error", err)
				n.det.Check(leader)
				retry = time.After(tetherRetry)
			} else {
				conn, cut = c, make(chan error, 1)
				go func() {
					var b [1]byte
					_, err := c.Read(b[:])
					cut <- err
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case l := <-n.leaders:
			if l != leader {
				drop()
				leader, retry = l, nil
			}
		case <-retry:
			retry = nil
		case err := <-cut:
			conn.Close()
			conn, cut = nil, nil
			if err != nil && !errors.Is(err, net.ErrClosed) {
				n.det.Check(leader)
			}
			retry = time.After(tetherRetry)
		}
	}
}

// dialTether dials a tether to peer id at its Raft address.
func (n *Node) dialTether(id int) (net.Conn, error) {
	addr, lid := n.raft.LeaderWithID()
	if string(lid) != strconv.Itoa(id) || addr == "" {
		return nil, errors.New("not the leader any more")
	}
	return n.stream.DialTether(raftpeer.Addr(string(addr)), strconv.Itoa(n.cfg.Self.ID), maxDial)
}

// tetherCut starts a direct check of the peer whose tether was cut (see
// streamConfig.OnCut).
func (n *Node) tetherCut(id string) {
	if i, err := strconv.Atoi(id); err == nil && n.det != nil {
		n.det.Check(i)
	}
}
