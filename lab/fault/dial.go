package fault

import (
	"context"
	"net"
	"time"
)

// DialFunc makes a connection, like net.Dialer.DialContext.
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// WrapDial returns dial with the faults applied to the client groups'
// connections a peer makes: to another peer (scope API: forwarded writes,
// keepalives, indirect checks), judged like Raft's dials and tracked so a
// block closes them; and to a client's check address, refused or delayed
// by the rules that name it in Clients (and by a pause). A nil dial is a
// plain net.Dialer that leaves from Options.LocalIP when set (peers are
// told apart by IP, here as on memberlist's and Raft's links). Safe for
// concurrent use.
func (i *Injector) WrapDial(dial DialFunc) DialFunc {
	if dial == nil {
		d := &net.Dialer{}
		if i.from != nil {
			d.LocalAddr = &net.TCPAddr{IP: i.from}
		}
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		v := i.judgeClient(addr)
		if v.block || v.drop {
			return nil, &Error{Op: "dial", Addr: addr, Reason: reason(v)}
		}
		if v.delay > 0 {
			t := time.NewTimer(v.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		return i.dial(addr, API, func() (net.Conn, error) { return dial(ctx, network, addr) })
	}
}

// judgeClient applies the rules that name addr (or its host) in Clients.
func (i *Injector) judgeClient(addr string) verdict {
	host := Host(addr)
	i.mu.Lock()
	defer i.mu.Unlock()
	var v verdict
	for _, r := range i.state.Rules {
		if !r.namesClient(addr, host) {
			continue
		}
		if r.Block {
			v.block = true
		}
		if r.Loss > 0 && i.rng.Float64() < r.Loss {
			v.drop = true
		}
		d := time.Duration(r.Delay)
		if j := int64(r.Jitter); j > 0 {
			d += time.Duration(i.rng.Int64N(2*j+1) - j)
		}
		v.delay += d
	}
	return v
}

// namesClient reports whether the rule names the client at addr (whose
// host is host).
func (r Rule) namesClient(addr, host string) bool {
	for _, c := range r.Clients {
		if c == addr || c == host {
			return true
		}
	}
	return false
}
