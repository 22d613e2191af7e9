package fault

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// TCPStreamLayer is a Raft StreamLayer over TCP, like raft's own, except
// that its dials leave from the IP it listens on when that IP is specific.
// Peers are told apart by IP, and on a host where peers share the loopback
// (127.0.0.11, 127.0.0.12, ...) the kernel otherwise sends every dial from
// 127.0.0.1. raft.NewTCPTransport builds its stream layer internally, so a
// peer that wraps its layer (WrapStreamLayer) builds one with
// ListenRaftTCP and hands the wrapped layer to raft.NewNetworkTransport.
// Safe for concurrent use.
type TCPStreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	from      *net.TCPAddr // nil: let the kernel choose
}

// ListenRaftTCP listens on bind ("ip:port") and returns the layer.
// advertise is the address other peers dial (nil: the listening address);
// it must be a specific IP, not 0.0.0.0.
func ListenRaftTCP(bind string, advertise net.Addr) (*TCPStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raft listen %s: %w", bind, err)
	}
	local := ln.Addr().(*net.TCPAddr)
	if advertise == nil {
		advertise = local
	}
	if a, ok := advertise.(*net.TCPAddr); !ok || a.IP == nil || a.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("raft advertise address %v: want a specific ip:port (bind %s listens on every interface)", advertise, bind)
	}
	l := &TCPStreamLayer{ln: ln, advertise: advertise}
	if !local.IP.IsUnspecified() {
		l.from = &net.TCPAddr{IP: local.IP}
	}
	return l, nil
}

// Dial connects to address from the listening IP.
func (l *TCPStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if l.from != nil {
		d.LocalAddr = l.from
	}
	return d.Dial("tcp", string(address))
}

// Accept waits for the next incoming connection.
func (l *TCPStreamLayer) Accept() (net.Conn, error) { return l.ln.Accept() }

// Close stops listening.
func (l *TCPStreamLayer) Close() error { return l.ln.Close() }

// Addr returns the advertised address.
func (l *TCPStreamLayer) Addr() net.Addr { return l.advertise }
