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
}

func listenStream(bind string, advertise net.Addr) (*tcpStream, error) {
	l, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	return &tcpStream{Listener: l, advertise: advertise}, nil
}

// Dial connects to another peer's Raft port.
func (t *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// Addr is the address other peers dial.
func (t *tcpStream) Addr() net.Addr { return t.advertise }
