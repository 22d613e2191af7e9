package detector

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"roster/peer/identity"
	"roster/peer/netguard"
)

// Bounds on what the gossip port accepts. memberlist's own packets fit in
// its UDPBufferSize (1400 bytes) plus a label and encryption; a push/pull
// state is about 100 bytes a peer.
const (
	maxPacketBytes = 8 << 10
	maxStreamBytes = 1 << 20
	// streamsPerIP and streamsUnknown cap concurrent inbound gossip
	// streams from one address, and from addresses of no hostsfile peer
	// together. memberlist gives each stream TCPTimeout to finish.
	streamsPerIP   = 8
	streamsUnknown = 32
)

// memberlist message types (memberlist/net.go); the numbers are its protocol.
const (
	msgCompound = 7
	msgCompress = 9
	msgEncrypt  = 10
	msgHasCrc   = 12
	msgHasLabel = 244
)

// guardConfig configures the gossip guard.
type guardConfig struct {
	// Keyring, if set, is the cluster's keys: a packet no key decrypts is
	// dropped before memberlist sees it.
	Keyring *memberlist.Keyring
	Label   string
	// Resolver and AddrCheck: with AddrCheck, packets and streams from
	// addresses of no hostsfile peer are dropped.
	Resolver  *identity.Resolver
	AddrCheck bool
	Log       *netguard.RateLog
	// Source, if set, is the local IP of outgoing streams (the bind IP),
	// so that other peers see this one at its own address.
	Source net.IP
}

// guard wraps memberlist's transport so that nothing from the network can
// make memberlist allocate without bound: packets over maxPacketBytes and
// compressed messages (memberlist inflates LZW without a limit: a 63 KB
// packet becomes 84 MB) are dropped, inbound streams are capped per address
// and read at most maxStreamBytes. roster's peers never compress
// (EnableCompression is off). Safe for concurrent use.
type guard struct {
	inner memberlist.NodeAwareTransport
	cfg   guardConfig
	limit *netguard.ConnLimiter

	packets  chan *memberlist.Packet
	streams  chan net.Conn
	stopping chan struct{} // closed when Shutdown starts: deliver nothing more
	done     chan struct{} // closed once the inner transport is shut down
	wg       sync.WaitGroup
	once     sync.Once
	err      error
}

func newGuard(t memberlist.NodeAwareTransport, cfg guardConfig) *guard {
	var known func(net.IP) bool
	if cfg.Resolver != nil {
		known = cfg.Resolver.Known
	}
	g := &guard{
		inner:    t,
		cfg:      cfg,
		limit:    &netguard.ConnLimiter{PerIP: streamsPerIP, Total: streamsUnknown, Known: known},
		packets:  make(chan *memberlist.Packet),
		streams:  make(chan net.Conn),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	g.wg.Add(2)
	go g.forwardPackets()
	go g.forwardStreams()
	return g
}

func (g *guard) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return g.inner.FinalAdvertiseAddr(ip, port)
}
func (g *guard) WriteTo(b []byte, addr string) (time.Time, error) { return g.inner.WriteTo(b, addr) }
func (g *guard) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	return g.inner.WriteToAddress(b, addr)
}
func (g *guard) PacketCh() <-chan *memberlist.Packet { return g.packets }
func (g *guard) StreamCh() <-chan net.Conn           { return g.streams }

// DialTimeout dials addr; what the other side sends back is bounded too.
func (g *guard) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return g.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout dials addr; what the other side sends back is bounded too.
func (g *guard) DialAddressTimeout(addr memberlist.Address, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	var err error
	if g.cfg.Source != nil {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: g.cfg.Source}}
		c, err = d.Dial("tcp", addr.Addr)
	} else {
		c, err = g.inner.DialAddressTimeout(addr, timeout)
	}
	if err != nil {
		return nil, err
	}
	return &streamConn{Conn: c, g: g, label: false, release: func() {}}, nil
}

// Shutdown shuts the wrapped transport down and stops the guard. The
// guard keeps draining the inner transport while it shuts down (its
// listeners block on unbuffered sends), delivering nothing more.
func (g *guard) Shutdown() error {
	g.once.Do(func() {
		close(g.stopping)
		g.err = g.inner.Shutdown()
		close(g.done)
		g.wg.Wait()
	})
	return g.err
}

func (g *guard) forwardPackets() {
	defer g.wg.Done()
	in := g.inner.PacketCh()
	for {
		select {
		case <-g.done:
			return
		case p, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			if p == nil {
				continue
			}
			if err := g.checkPacket(p); err != nil {
				g.cfg.Log.Warn("gossip: packet dropped", "from", p.From.String(), "reason", err)
				continue
			}
			select {
			case g.packets <- p:
			case <-g.stopping:
			}
		}
	}
}

func (g *guard) forwardStreams() {
	defer g.wg.Done()
	in := g.inner.StreamCh()
	for {
		select {
		case <-g.done:
			return
		case c, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			if c == nil {
				continue
			}
			ip := netguard.RemoteIP(c)
			if g.cfg.AddrCheck && !g.cfg.Resolver.Known(ip) {
				c.Close()
				g.cfg.Log.Warn("gossip: stream refused: address of no hostsfile peer", "from", c.RemoteAddr().String())
				continue
			}
			release, ok := g.limit.Acquire(ip)
			if !ok {
				c.Close()
				g.cfg.Log.Warn("gossip: stream refused: too many connections", "from", c.RemoteAddr().String())
				continue
			}
			sc := &streamConn{Conn: c, g: g, label: true, release: release}
			select {
			case g.streams <- sc:
			case <-g.stopping:
				sc.Close()
			}
		}
	}
}

var (
	errTooLarge   = errors.New("too large")
	errCompressed = errors.New("compressed (roster's peers never compress)")
)

// checkPacket says why a packet must not reach memberlist, or nil.
func (g *guard) checkPacket(p *memberlist.Packet) error {
	if len(p.Buf) > maxPacketBytes {
		return fmt.Errorf("%w: %d bytes", errTooLarge, len(p.Buf))
	}
	if g.cfg.AddrCheck && !g.cfg.Resolver.Known(netguard.AddrIP(p.From)) {
		return errors.New("address of no hostsfile peer")
	}
	buf, label, err := memberlist.RemoveLabelHeaderFromPacket(p.Buf)
	if err != nil {
		return err
	}
	if label != g.cfg.Label {
		return fmt.Errorf("label %q, want %q", label, g.cfg.Label)
	}
	if g.cfg.Keyring != nil {
		if buf, err = decrypt(g.cfg.Keyring.GetKeys(), buf, []byte(label)); err != nil {
			return err
		}
	}
	return checkMessage(buf, true)
}

// checkMessage refuses compressed messages, at the top of a packet, under
// a checksum or in a compound (compounds do not nest in memberlist's packets).
func checkMessage(buf []byte, top bool) error {
	if len(buf) == 0 {
		return errors.New("empty message")
	}
	switch buf[0] {
	case msgCompress:
		return errCompressed
	case msgHasCrc:
		if !top || len(buf) < 5 {
			return errors.New("bad checksum header")
		}
		return checkMessage(buf[5:], false)
	case msgCompound:
		if len(buf) < 2 {
			return errors.New("bad compound message")
		}
		n := int(buf[1])
		body := buf[2:]
		if len(body) < 2*n {
			return errors.New("bad compound message")
		}
		lens, body := body[:2*n], body[2*n:]
		for i := range n {
			l := int(lens[2*i])<<8 | int(lens[2*i+1])
			if l > len(body) {
				return nil // truncated: memberlist drops the rest itself
			}
			if l > 0 && (body[0] == msgCompound || body[0] == msgHasCrc) {
				return errors.New("nested compound message")
			}
			if err := checkMessage(body[:l], false); err != nil {
				return err
			}
			body = body[l:]
		}
	}
	return nil
}

// decrypt opens a packet sealed by memberlist (security.go: a version
// byte, a 12-byte nonce, then AES-GCM with the label as additional data)
// with any of keys, without changing buf.
func decrypt(keys [][]byte, buf, label []byte) ([]byte, error) {
	const nonce = 12
	if len(buf) < 1+nonce+16 || buf[0] > 1 {
		return nil, errors.New("not encrypted with a cluster key")
	}
	for _, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			continue
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			continue
		}
		plain, err := gcm.Open(nil, buf[1:1+nonce], buf[1+nonce:], label)
		if err != nil {
			continue
		}
		if buf[0] == 0 && len(plain) > 0 { // version 0 pads (PKCS#7)
			pad := int(plain[len(plain)-1])
			if pad == 0 || pad > len(plain) {
				return nil, errors.New("bad padding")
			}
			plain = plain[:len(plain)-pad]
		}
		return plain, nil
	}
	return nil, errors.New("not encrypted with a cluster key")
}

// streamConn is a gossip stream as memberlist sees it: reads stop after
// maxStreamBytes, and a stream whose first message is compressed is cut.
// Close releases its place in the per-address cap.
type streamConn struct {
	net.Conn
	g       *guard
	label   bool // inbound: an optional label header comes first
	release func()

	mu     sync.Mutex
	read   int
	prefix []byte // the first bytes, until the message type is known
	judged bool
	once   sync.Once
}

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read += n
	if c.read > maxStreamBytes {
		c.g.cfg.Log.Warn("gossip: stream cut", "from", c.RemoteAddr().String(), "reason", fmt.Sprintf("over %d bytes", maxStreamBytes))
		return 0, errTooLarge
	}
	if !c.judged && n > 0 {
		c.prefix = append(c.prefix, p[:n]...)
		if t, ok := c.msgType(); ok {
			c.judged = true
			c.prefix = nil
			if t == msgCompress {
				c.g.cfg.Log.Warn("gossip: stream cut", "from", c.RemoteAddr().String(), "reason", errCompressed)
				return 0, errCompressed
			}
		}
	}
	return n, err
}

// msgType returns the stream's first message type once enough has arrived.
func (c *streamConn) msgType() (byte, bool) {
	b := c.prefix
	if c.label && len(b) > 0 && b[0] == msgHasLabel {
		if len(b) < 2 || len(b) < 2+int(b[1])+1 {
			return 0, false
		}
		return b[2+int(b[1])], true
	}
	if len(b) == 0 {
		return 0, false
	}
	return b[0], true
}

func (c *streamConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
