package netguard

import (
	"net"
	"sync"
)

// ConnLimiter caps concurrent connections: at most PerIP from one remote IP,
// and at most Total from IPs that Known does not recognise (the addresses
// of the hostsfile peers are counted per IP only, so strangers filling the
// total cannot lock the peers out). Safe for concurrent use.
type ConnLimiter struct {
	// PerIP caps connections from one IP (0: no cap).
	PerIP int
	// Total caps connections from unknown IPs together (0: no cap).
	Total int
	// Known, if set, reports whether an IP belongs to a hostsfile peer.
	Known func(net.IP) bool

	mu      sync.Mutex
	byIP    map[string]int
	unknown int
}

// Acquire admits a connection from ip: ok is false when a cap is reached.
// When ok, release must be called exactly once when the connection ends.
func (l *ConnLimiter) Acquire(ip net.IP) (release func(), ok bool) {
	known := l.Known != nil && l.Known(ip)
	key := ip.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP == nil {
		l.byIP = map[string]int{}
	}
	if l.PerIP > 0 && l.byIP[key] >= l.PerIP {
		return nil, false
	}
	if !known && l.Total > 0 && l.unknown >= l.Total {
		return nil, false
	}
	l.byIP[key]++
	if !known {
		l.unknown++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.byIP[key]--; l.byIP[key] <= 0 {
				delete(l.byIP, key)
			}
			if !known {
				l.unknown--
			}
		})
	}, true
}

// Count returns the connections held from ip now.
func (l *ConnLimiter) Count(ip net.IP) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byIP[ip.String()]
}

// RemoteIP returns the IP of a connection's remote address, or nil.
func RemoteIP(c net.Conn) net.IP {
	return AddrIP(c.RemoteAddr())
}

// AddrIP returns the IP of a TCP or UDP address, or nil.
func AddrIP(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP
	case *net.UDPAddr:
		return a.IP
	}
	if a == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}
