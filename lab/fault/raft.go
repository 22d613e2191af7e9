package fault

import (
	"net"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/raftpeer"
)

// streamLayer applies the Injector's faults (scope Raft) to a Raft
// StreamLayer. Safe for concurrent use, like the layer it wraps.
type streamLayer struct {
	raft.StreamLayer
	inj *Injector
}

// WrapStreamLayer returns l with the faults of scope Raft applied: Dial is
// refused when the peer is blocked (or with probability Loss); Accept closes
// connections from blocked peers (or with probability Loss) and keeps
// accepting; every connection it returns, dialled or accepted, is tracked
// and closed at once when a fault starts blocking its peer (Raft pools
// connections, so checking at dial time alone would miss open links), cut
// with probability Loss at each Read or Write, and delayed at each.
func (i *Injector) WrapStreamLayer(l raft.StreamLayer) raft.StreamLayer {
	return &streamLayer{StreamLayer: l, inj: i}
}

// Dial dials address unless a fault refuses it. The faults apply to the
// address, not to the id a tagged address carries (package raftpeer).
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.inj.dial(raftpeer.Addr(string(address)), Raft, func() (net.Conn, error) {
		return s.StreamLayer.Dial(address, timeout)
	})
}

// Accept returns the next connection that no fault refuses; it returns the
// wrapped listener's errors as they are.
func (s *streamLayer) Accept() (net.Conn, error) {
	for {
		nc, err := s.StreamLayer.Accept()
		if err != nil {
			return nil, err
		}
		if c := s.inj.admit(nc, Raft); c != nil {
			return c, nil
		}
	}
}
