package fault

import (
	"net"
	"net/netip"
	"strings"
)

// Resolver tells which peer an address belongs to. The Injector calls
// PeerByAddr with a bare host, never a port: an IP in canonical form
// ("127.0.0.12", IPv4-mapped IPv6 unmapped), or for Raft dials the host part
// of the server address as configured, which may be a name ("two").
// Incoming TCP connections come from ephemeral ports, so peers must be told
// apart by IP. An address the Resolver does not know passes every rule
// (only a pause stops it).
//
// Implementations must be safe for concurrent use; PeerByAddr is called for
// every packet, so it should be a map lookup.
type Resolver interface {
	PeerByAddr(addr string) (id int, ok bool)
}

// AddrMap is a Resolver backed by a map from host (IP or name) to peer id.
// Keys are matched after the same normalisation the Injector applies, so
// "127.0.0.12:8081" and "127.0.0.12" both find the key "127.0.0.12". Safe for
// concurrent use as long as the map is not modified.
type AddrMap map[string]int

// PeerByAddr returns the id stored for addr's host.
func (m AddrMap) PeerByAddr(addr string) (int, bool) {
	id, ok := m[Host(addr)]
	return id, ok
}

// Host returns the host part of addr ("ip:port", "[ipv6]:port", "ip" or
// "name:port"), in the form the Injector passes to a Resolver: IPs canonical
// and IPv4-mapped IPv6 addresses unmapped, names unchanged.
func Host(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().WithZone("").String()
	}
	return host
}

// hostOfNetAddr returns the normalised host of a net.Addr, cheaply for the
// common UDP and TCP cases.
func hostOfNetAddr(a net.Addr) string {
	switch a := a.(type) {
	case *net.UDPAddr:
		if a == nil {
			return ""
		}
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap().String()
		}
	case *net.TCPAddr:
		if a == nil {
			return ""
		}
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap().String()
		}
	case nil:
		return ""
	}
	return Host(a.String())
}
