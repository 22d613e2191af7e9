package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/identity"
	"roster/peer/netguard"
	"roster/peer/raftpeer"
	"roster/peer/secure"
)

// Connection bounds of the Raft port.
const (
	// raftConnsPerIP caps concurrent inbound Raft connections from one IP;
	// a leader holds a heartbeat, a pipeline and at most MaxPool (3) pooled
	// connections to each follower, and a follower one tether to its
	// leader (tether.go).
	raftConnsPerIP = 16
	// raftConnsUnknown caps inbound Raft connections from addresses that
	// belong to no hostsfile peer, together.
	raftConnsUnknown = 32
	// handshakeTimeout bounds the TLS handshake of a connection; a
	// connection that has not proved the cluster's key by then is closed.
	handshakeTimeout = 3 * time.Second
	// idleTimeout closes an inbound connection that sent nothing for that
	// long (a tether, which never sends, excepted). The leader's heartbeat
	// connection carries a request every 0.5-1 s and its pipeline one
	// every commit timeout; pooled connections idle longer are retired by
	// the dialing side first (retireIdle).
	idleTimeout = 2 * time.Minute
	// retireIdle: a dialed connection unused for that long is replaced by
	// a new one before its next request, so the other side's idleTimeout
	// never cuts a connection Raft still holds in its pool.
	retireIdle = idleTimeout / 4
)

// maxDial caps Raft's dial timeout. On a LAN a connect takes well under a
// millisecond; a crashed container's address, though, does not refuse
// connections, it swallows them, and the leader's failed heartbeat (which
// starts the direct check) would otherwise wait for Raft's whole I/O timeout.
const maxDial = 500 * time.Millisecond

// streamConfig configures Raft's stream layer.
type streamConfig struct {
	// Bind is host:port to listen on.
	Bind string
	// Self is this peer's Raft server id: connections whose preamble names
	// another peer are refused (package raftpeer). A peer outside the
	// hostsfile sets it with SetSelf once it has an id.
	Self string
	// TLS, if set, makes every connection mutual TLS.
	TLS *secure.TLS
	// Resolver tells which addresses belong to which hostsfile peer.
	Resolver *identity.Resolver
	// AddrCheck refuses connections from addresses of no hostsfile peer, and
	// requests whose sender is not the peer the connection comes from.
	AddrCheck bool
	// Log counts refused connections and bad requests.
	Log *netguard.RateLog
	// OnCut, if set, is called with the sender id of a tether (see
	// tether.go) the other side closed or reset: its process may have
	// died. Called on the stream's goroutines.
	OnCut func(id string)
}

// stream is Raft's stream layer: TCP, with mutual TLS when the cluster has
// a key or TLS files, a cap on concurrent connections per remote address,
// a handshake deadline, an idle deadline, and a guard (wireReader) between
// each accepted connection and Raft's decoder. Unlike raft's own
// TCPStreamLayer it can be built here, so the fault layer can wrap it.
// Safe for concurrent use.
type stream struct {
	cfg       streamConfig
	ln        net.Listener
	source    *net.TCPAddr                // local address of outgoing connections, nil for any
	advertise atomic.Pointer[net.TCPAddr] // the address others dial (SetAdvertise)
	self      atomic.Pointer[string]      // this peer's Raft server id (SetSelf)

	accepted chan net.Conn
	done     chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	pending map[net.Conn]bool      // accepted, handshake in progress
	secured map[*tls.Conn]net.Conn // established TLS connections -> what closes them
	dialed  map[*dialedConn]string // open dialed connections -> their (tagged) address
	tethers map[net.Conn]bool      // accepted tethers being held
}

// listenStream listens on cfg.Bind. When the host is a specific IP,
// outgoing connections leave from it too, so that peers on one loopback
// interface (127.X.Y.Z each) see each other's real addresses.
func listenStream(cfg streamConfig) (*stream, error) {
	l, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return nil, err
	}
	limit := &netguard.ConnLimiter{PerIP: raftConnsPerIP, Total: raftConnsUnknown, Known: cfg.Resolver.Known}
	s := &stream{
		cfg:      cfg,
		ln:       &netguard.Listener{Listener: l, Limit: limit, Log: cfg.Log, Name: "raft"},
		accepted: make(chan net.Conn),
		done:     make(chan struct{}),
		pending:  map[net.Conn]bool{},
		secured:  map[*tls.Conn]net.Conn{},
		dialed:   map[*dialedConn]string{},
		tethers:  map[net.Conn]bool{},
	}
	s.SetSelf(cfg.Self)
	if host, _, _ := net.SplitHostPort(cfg.Bind); host != "" {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			s.source = &net.TCPAddr{IP: ip}
		}
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// SetSelf sets this peer's Raft server id (see streamConfig.Self).
func (s *stream) SetSelf(id string) { s.self.Store(&id) }

func (s *stream) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Out of file descriptors and the like: wait, then retry.
			s.cfg.Log.Warn("raft: accept failed", "error", err)
			select {
			case <-s.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.admit(c)
		}()
	}
}

// track records a connection in handshake, so Close can cut it.
func (s *stream) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.pending[c] = true
	return true
}

// admit checks an accepted connection (address, then TLS handshake) and
// hands it to Accept.
func (s *stream) admit(c net.Conn) {
	ip := netguard.RemoteIP(c)
	from := c.RemoteAddr().String()
	s.mu.Lock()
	delete(s.pending, c)
	s.mu.Unlock()
	if s.cfg.AddrCheck && !s.cfg.Resolver.Known(ip) {
		c.Close()
		s.cfg.Log.Warn("raft: connection refused: address of no hostsfile peer", "from", from)
		return
	}
	conn := c
	if s.cfg.TLS != nil {
		tc := tls.Server(c, s.cfg.TLS.Server())
		if !s.track(tc) {
			c.Close()
			return
		}
		c.SetDeadline(time.Now().Add(handshakeTimeout))
		err := tc.HandshakeContext(context.Background())
		s.mu.Lock()
		delete(s.pending, tc)
		s.mu.Unlock()
		if err != nil {
			tc.Close()
			s.cfg.Log.Warn("raft: connection refused: TLS handshake failed (no cluster key?)", "from", from, "error", err)
			return
		}
		c.SetDeadline(time.Time{})
		if !s.secure(tc, tc) {
			return
		}
		conn = tc
	}
	var check func(string) error
	if s.cfg.AddrCheck {
		check = func(id string) error { return s.checkSender(id, ip) }
	}
	wire := newWireReader(idleReader{conn}, *s.self.Load(), check)
	// Raft's client speaks first: the first byte tells a tether from Raft
	// requests (an error is Raft's to meet, as with any request).
	if b, err := wire.br.Peek(1); err == nil && b[0] == raftpeer.TetherMagic {
		s.holdTether(conn, wire.br, ip, from)
		return
	}
	g := &guardedConn{Conn: conn, wire: wire, log: s.cfg.Log, from: from, untrack: func() { s.untrack(conn) }}
	select {
	case s.accepted <- g:
	case <-s.done:
		g.Close()
	}
}

// checkSender refuses a request whose sender id is not a hostsfile peer
// owning the connection's address.
func (s *stream) checkSender(id string, ip net.IP) error {
	n, err := strconv.Atoi(id)
	if err != nil || !s.cfg.Resolver.Owns(n, ip) {
		return fmt.Errorf("sender %q is not at %s", id, ip)
	}
	return nil
}

// secure records an established TLS connection, so that a key removal
// can close those it authenticated.
func (s *stream) secure(tc *tls.Conn, closer net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		closer.Close()
		return false
	}
	s.secured[tc] = closer
	return true
}

func (s *stream) untrack(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		s.mu.Lock()
		delete(s.secured, tc)
		s.mu.Unlock()
	}
}

// KeysChanged closes the connections whose certificate no installed key
// vouches for any more; Raft dials again with the current keys.
func (s *stream) KeysChanged() {
	if s.cfg.TLS == nil {
		return
	}
	s.mu.Lock()
	var stale []net.Conn
	for tc, closer := range s.secured {
		if !s.cfg.TLS.Valid(tc.ConnectionState()) {
			stale = append(stale, closer)
			delete(s.secured, tc)
		}
	}
	s.mu.Unlock()
	for _, c := range stale {
		c.Close()
	}
}

// Accept returns the next connection that passed the checks.
func (s *stream) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, cuts the connections still in handshake and waits
// for the stream's goroutines.
func (s *stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for c := range s.pending {
		c.Close()
	}
	for c := range s.tethers {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Addr is the address other peers dial.
func (s *stream) Addr() net.Addr {
	if a := s.advertise.Load(); a != nil {
		return a
	}
	return s.ln.Addr()
}

// SetAdvertise sets the address other peers dial (it changes when this
// peer moves).
func (s *stream) SetAdvertise(a *net.TCPAddr) { s.advertise.Store(a) }

// Dial connects to another peer's Raft port (and runs the TLS handshake).
// A tagged address (raftpeer.Tag) is dialed at its address part, and the
// connection starts with a preamble naming its target.
func (s *stream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	target, hostport := raftpeer.Split(string(addr))
	dial := func() (net.Conn, error) {
		c, err := s.dial(hostport, timeout)
		if err != nil || target == "" {
			return c, err
		}
		c.SetWriteDeadline(time.Now().Add(min(max(timeout, time.Second), handshakeTimeout)))
		if err := raftpeer.WritePreamble(c, target); err != nil {
			s.untrack(c)
			c.Close()
			return nil, fmt.Errorf("raft preamble to %s: %w", hostport, err)
		}
		c.SetWriteDeadline(time.Time{})
		return c, nil
	}
	c, err := dial()
	if err != nil {
		return nil, err
	}
	d := &dialedConn{c: c, dial: dial, last: time.Now(), untrack: s.untrack}
	s.mu.Lock()
	s.dialed[d] = string(addr)
	s.mu.Unlock()
	d.forget = func() {
		s.mu.Lock()
		delete(s.dialed, d)
		s.mu.Unlock()
	}
	return d, nil
}

// DropMoved closes the dialed connections meant for peer id (a Raft server
// id) at another address than addr: the peer moved, and its old address may
// belong to another peer by now. Raft pools connections by address and
// would never use them again, but they would stay open.
func (s *stream) DropMoved(id, addr string) {
	s.mu.Lock()
	var stale []*dialedConn
	for d, tagged := range s.dialed {
		if to, at := raftpeer.Split(tagged); to == id && at != addr {
			stale = append(stale, d)
		}
	}
	s.mu.Unlock()
	for _, d := range stale {
		d.Close()
	}
}

func (s *stream) dial(addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: min(timeout, maxDial)}
	if s.source != nil {
		d.LocalAddr = s.source
	}
	c, err := d.Dial("tcp", addr)
	if err != nil || s.cfg.TLS == nil {
		return c, err
	}
	tc := tls.Client(c, s.cfg.TLS.Client())
	c.SetDeadline(time.Now().Add(min(max(timeout, time.Second), handshakeTimeout)))
	if err := tc.HandshakeContext(context.Background()); err != nil {
		c.Close()
		return nil, fmt.Errorf("raft TLS handshake with %s: %w", addr, err)
	}
	c.SetDeadline(time.Time{})
	if !s.secure(tc, tc) {
		return nil, net.ErrClosed
	}
	return tc, nil
}

// guardedConn is an accepted connection as Raft sees it: reads go through
// the wire guard, and what it refuses is counted in the rate log.
type guardedConn struct {
	net.Conn
	wire    *wireReader
	log     *netguard.RateLog
	from    string
	untrack func()
	once    sync.Once
}

func (g *guardedConn) Read(p []byte) (int, error) {
	n, err := g.wire.Read(p)
	if err != nil && !isClosedOrEOF(err) {
		g.log.Warn("raft: connection closed: bad request", "from", g.from, "error", err)
	}
	return n, err
}

func (g *guardedConn) Close() error {
	g.once.Do(g.untrack)
	return g.Conn.Close()
}

// isClosedOrEOF reports the ends of a connection that are not bad input:
// closed here, closed by the other side, or reset by it (a peer that
// crashed or was killed resets its connections).
func isClosedOrEOF(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// idleReader reads with a deadline of idleTimeout from now.
type idleReader struct{ c net.Conn }

func (r idleReader) Read(p []byte) (int, error) {
	r.c.SetReadDeadline(time.Now().Add(idleTimeout))
	return r.c.Read(p)
}

// dialedConn is a connection this peer dialed. Raft pools connections and
// may leave one unused for long; before a write on a connection idle for
// retireIdle (and with no read waiting on it, so no answer is due), it is
// replaced by a fresh one, so the other side's idle deadline never cuts a
// connection Raft means to use. Safe for Raft's use: one writer and at most
// one reader at a time.
type dialedConn struct {
	dial    func() (net.Conn, error)
	untrack func(net.Conn)
	forget  func() // drops it from the stream's record of dialed connections

	mu       sync.Mutex
	c        net.Conn
	last     time.Time
	reading  int
	deadline time.Time
	closed   bool
}

func (d *dialedConn) conn() net.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c
}

func (d *dialedConn) Read(p []byte) (int, error) {
	d.mu.Lock()
	c := d.c
	d.reading++
	d.mu.Unlock()
	n, err := c.Read(p)
	d.mu.Lock()
	d.reading--
	d.last = time.Now()
	d.mu.Unlock()
	return n, err
}

func (d *dialedConn) Write(p []byte) (int, error) {
	d.mu.Lock()
	if !d.closed && d.reading == 0 && time.Since(d.last) > retireIdle {
		old := d.c
		c, err := d.dial()
		if err != nil {
			d.mu.Unlock()
			return 0, err
		}
		d.untrack(old)
		old.Close()
		d.c = c
		if !d.deadline.IsZero() {
			c.SetDeadline(d.deadline)
		}
	}
	c := d.c
	d.last = time.Now()
	d.mu.Unlock()
	return c.Write(p)
}

func (d *dialedConn) Close() error {
	d.mu.Lock()
	d.closed = true
	c := d.c
	d.mu.Unlock()
	d.untrack(c)
	if d.forget != nil {
		d.forget()
	}
	return c.Close()
}

func (d *dialedConn) SetDeadline(t time.Time) error {
	d.mu.Lock()
	d.deadline = t
	d.mu.Unlock()
	return d.conn().SetDeadline(t)
}

func (d *dialedConn) SetReadDeadline(t time.Time) error  { return d.conn().SetReadDeadline(t) }
func (d *dialedConn) SetWriteDeadline(t time.Time) error { return d.conn().SetWriteDeadline(t) }
func (d *dialedConn) LocalAddr() net.Addr                { return d.conn().LocalAddr() }
func (d *dialedConn) RemoteAddr() net.Addr               { return d.conn().RemoteAddr() }
