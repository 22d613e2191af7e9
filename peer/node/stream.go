package node

import (
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// tcpStream is Raft's stream layer over plain TCP. Unlike raft's own
// TCPStreamLayer it can be built here, so the fault layer can wrap it.
type tcpStream struct {
	net.Listener
	advertise net.Addr
	source    *net.TCPAddr // local address of outgoing connections, nil for any
}

// listenStream listens on bind (host:port); set advertise before use. When
// the host is a specific IP, outgoing connections leave from it too, so that
// peers on one loopback interface (127.X.Y.Z each) see each other's real
// addresses.
func listenStream(bind string) (*tcpStream, error) {
	l, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	t := &tcpStream{Listener: l}
	if host, _, _ := net.SplitHostPort(bind); host != "" {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			t.source = &net.TCPAddr{IP: ip}
		}
	}
	return t, nil
}

// maxDial caps Raft's dial timeout. On a LAN a connect takes well under a
// millisecond; a crashed container's address, though, does not refuse
// connections, it swallows them, and the leader's failed heartbeat (which
// starts the direct check) would otherwise wait for Raft's whole I/O timeout.
const maxDial = 500 * time.Millisecond

// Dial connects to another peer's Raft port.
func (t *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: min(timeout, maxDial)}
	if t.source != nil {
		d.LocalAddr = t.source
	}
	return d.Dial("tcp", string(addr))
}

// Addr is the address other peers dial.
func (t *tcpStream) Addr() net.Addr { return t.advertise }
