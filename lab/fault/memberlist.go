package fault

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// transport applies the Injector's faults (scope Gossip) to a memberlist
// transport. Safe for concurrent use, like the transport it wraps.
type transport struct {
	inner memberlist.NodeAwareTransport
	inj   *Injector

	packets chan *memberlist.Packet
	streams chan net.Conn

	stopping chan struct{} // closed when Shutdown starts: stop delivering
	done     chan struct{} // closed when the inner transport is shut down
	wg       sync.WaitGroup
	once     sync.Once
	err      error
}

// WrapTransport returns t with the faults of scope Gossip applied. Outgoing
// packets (WriteTo, WriteToAddress) to a blocked peer, or lost, are dropped
// and reported as sent, as UDP would; delayed ones are sent later without
// holding up the caller. Dials (DialTimeout, DialAddressTimeout) are refused
// when the peer is blocked, or with probability Loss. Incoming packets are
// filtered by sender IP and delayed on timers, so one delayed packet does not
// hold up the others; incoming streams from blocked peers are closed.
// Streams, both ways, are tracked and cut like Raft's (see WrapStreamLayer).
//
// The wrapper reads t's PacketCh and StreamCh from the start, so wrap a
// transport before handing it to memberlist, and only once. Shutdown shuts t
// down and stops the wrapper; FinalAdvertiseAddr is t's.
func (i *Injector) WrapTransport(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	w := &transport{
		inner:    t,
		inj:      i,
		packets:  make(chan *memberlist.Packet),
		streams:  make(chan net.Conn),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	w.wg.Add(2)
	go w.forwardPackets()
	go w.forwardStreams()
	return w
}

// FinalAdvertiseAddr is the wrapped transport's.
func (w *transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return w.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo sends b to addr unless a fault drops it.
func (w *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return w.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends b to addr unless a fault drops it, later if a fault
// delays it.
func (w *transport) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	v := w.inj.judge(w.inj.peerOf(Host(addr.Addr)), Out, Gossip)
	switch {
	case !v.pass():
		return time.Now(), nil
	case v.delay > 0:
		buf := append([]byte(nil), b...)
		time.AfterFunc(v.delay, func() {
			select {
			case <-w.stopping:
			default:
				w.inner.WriteToAddress(buf, addr) // a failed late send is a lost packet
			}
		})
		return time.Now(), nil
	}
	return w.inner.WriteToAddress(b, addr)
}

// PacketCh returns the incoming packets that no fault dropped.
func (w *transport) PacketCh() <-chan *memberlist.Packet { return w.packets }

// DialTimeout dials addr unless a fault refuses it.
func (w *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return w.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout dials addr unless a fault refuses it.
func (w *transport) DialAddressTimeout(addr memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return w.inj.dial(addr.Addr, Gossip, func() (net.Conn, error) {
		if w.inj.from != nil {
			d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: w.inj.from}}
			return d.Dial("tcp", addr.Addr)
		}
		return w.inner.DialAddressTimeout(addr, timeout)
	})
}

// StreamCh returns the incoming streams that no fault refused.
func (w *transport) StreamCh() <-chan net.Conn { return w.streams }

// Shutdown shuts the wrapped transport down and stops the wrapper. Later
// calls return the first call's result.
func (w *transport) Shutdown() error {
	w.once.Do(func() {
		// Keep draining the inner channels while it shuts down (its
		// listeners block on unbuffered sends), but deliver nothing more.
		close(w.stopping)
		w.err = w.inner.Shutdown()
		close(w.done)
		w.wg.Wait()
	})
	return w.err
}

// forwardPackets moves packets from the inner transport to PacketCh,
// dropping and delaying them as the faults say.
func (w *transport) forwardPackets() {
	defer w.wg.Done()
	in := w.inner.PacketCh()
	for {
		select {
		case <-w.done:
			return
		case p, ok := <-in:
			if !ok {
				in = nil // closed: wait for Shutdown
				continue
			}
			if p == nil {
				continue
			}
			v := w.inj.judge(w.inj.peerOf(hostOfNetAddr(p.From)), In, Gossip)
			switch {
			case !v.pass():
			case v.delay > 0:
				time.AfterFunc(v.delay, func() {
					p.Timestamp = time.Now() // it "arrives" now
					w.deliverPacket(p)
				})
			default:
				w.deliverPacket(p)
			}
		}
	}
}

// deliverPacket hands p to memberlist, or drops it once Shutdown started.
func (w *transport) deliverPacket(p *memberlist.Packet) {
	select {
	case w.packets <- p:
	case <-w.stopping:
	}
}

// forwardStreams moves incoming streams from the inner transport to
// StreamCh, closing the refused ones and wrapping the others.
func (w *transport) forwardStreams() {
	defer w.wg.Done()
	in := w.inner.StreamCh()
	for {
		select {
		case <-w.done:
			return
		case nc, ok := <-in:
			if !ok {
				in = nil // closed: wait for Shutdown
				continue
			}
			if nc == nil {
				continue
			}
			c := w.inj.admit(nc, Gossip)
			if c == nil {
				continue
			}
			select {
			case w.streams <- c:
			case <-w.stopping:
				c.Close()
			}
		}
	}
}
