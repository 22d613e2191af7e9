// Package advertise chooses the IP address a peer announces to the others
// (memberlist's and Raft's advertised address).
//
// A container on several networks (a Docker Swarm task sits on its overlay
// network and on docker_gwbridge; a Kubernetes pod may have sidecar
// interfaces) must announce the address on the network its peers use, not
// the first private address of the host, which is what memberlist picks by
// itself. The rules, first match wins:
//
//  1. --advertise, as given;
//  2. --bind, when it is one address (the peer listens only there);
//  3. the address this peer's own name resolves to (its hostsfile address
//     column, else its name), when that address belongs to one of its
//     interfaces and is not a loopback or link-local one;
//  4. the local address of the route to another peer (a UDP "connect" to the
//     peer's address: no packet is sent), trying the peers in hostsfile order;
//  5. none: memberlist's own choice (the first private interface address).
package advertise

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"roster/peer/hostsfile"
)

// Env is what Choose asks of the host; tests inject their own. Its functions
// must be safe for concurrent use.
type Env struct {
	// LookupIP resolves a host name to its addresses.
	LookupIP func(ctx context.Context, host string) ([]net.IP, error)
	// LocalAddrs lists the addresses of this host's interfaces.
	LocalAddrs func() ([]net.IP, error)
	// RouteFrom returns the local address the host would send from to reach
	// dst (a UDP "connect").
	RouteFrom func(dst *net.UDPAddr) (net.IP, error)
}

// System is the Env of the running host: its resolver, its interfaces and
// its routing table.
func System() Env {
	return Env{
		LookupIP: func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		},
		LocalAddrs: func() ([]net.IP, error) {
			addrs, err := net.InterfaceAddrs()
			if err != nil {
				return nil, err
			}
			out := make([]net.IP, 0, len(addrs))
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					out = append(out, n.IP)
				}
			}
			return out, nil
		},
		RouteFrom: func(dst *net.UDPAddr) (net.IP, error) {
			c, err := net.DialUDP("udp", nil, dst)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			return c.LocalAddr().(*net.UDPAddr).IP, nil
		},
	}
}

// Input is what the choice depends on.
type Input struct {
	// Advertise and Bind are the --advertise and --bind flags ("" when unset).
	Advertise, Bind string
	// Self is this peer's hostsfile line; Hosts the whole file.
	Self  hostsfile.Peer
	Hosts *hostsfile.File
	// Port is the memberlist port of peers whose line names none.
	Port int
	// Timeout bounds all name lookups together (default 2 s).
	Timeout time.Duration
}

// Choice is the advertised address and why it was chosen.
type Choice struct {
	// IP is the address to advertise; "" leaves the choice to memberlist.
	IP string
	// Why says which rule chose it, for the log.
	Why string
}

// Choose applies the rules of the package comment. It never fails: when no
// rule applies it returns an empty Choice. It is safe for concurrent use if
// env is.
func Choose(ctx context.Context, in Input, env Env) Choice {
	if in.Advertise != "" {
		return Choice{IP: in.Advertise, Why: "--advertise"}
	}
	if ip := net.ParseIP(in.Bind); ip != nil && !ip.IsUnspecified() {
		return Choice{IP: ip.String(), Why: "--bind"}
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if c, ok := ownName(ctx, in, env); ok {
		return c
	}
	if in.Hosts != nil {
		for _, p := range in.Hosts.Peers {
			if p.ID == in.Self.ID {
				continue
			}
			if ctx.Err() != nil {
				break
			}
			if c, ok := routeTo(ctx, p, in.Port, env); ok {
				return c
			}
		}
	}
	return Choice{Why: "memberlist's default (no local address for this peer's name, no route to a peer)"}
}

// ownName is rule 3: the address this peer's name (or address column)
// resolves to, if it is one of this host's.
func ownName(ctx context.Context, in Input, env Env) (Choice, bool) {
	host := in.Self.Host
	if host == "" {
		host = in.Self.Name
	}
	if host == "" {
		return Choice{}, false
	}
	ips, err := resolve(ctx, host, env)
	if err != nil || len(ips) == 0 {
		return Choice{}, false
	}
	local, err := env.LocalAddrs()
	if err != nil {
		return Choice{}, false
	}
	for _, ip := range ips {
		if !usable(ip) {
			continue
		}
		for _, l := range local {
			if l.Equal(ip) {
				return Choice{IP: ip.String(), Why: fmt.Sprintf("the local address %s resolves to", host)}, true
			}
		}
	}
	return Choice{}, false
}

// routeTo is rule 4 for one peer.
func routeTo(ctx context.Context, p hostsfile.Peer, defaultPort int, env Env) (Choice, bool) {
	host, port := p.Host, p.Port
	if host == "" {
		host = p.Name
	}
	if port == 0 {
		port = defaultPort
	}
	ips, err := resolve(ctx, host, env)
	if err != nil {
		return Choice{}, false
	}
	for _, ip := range ips {
		if ip.IsUnspecified() {
			continue
		}
		src, err := env.RouteFrom(&net.UDPAddr{IP: ip, Port: port})
		if err != nil || src == nil || src.IsUnspecified() {
			continue
		}
		return Choice{IP: src.String(), Why: fmt.Sprintf("the route to %s (%s)", p.Name, net.JoinHostPort(ip.String(), strconv.Itoa(port)))}, true
	}
	return Choice{}, false
}

// resolve returns host's addresses: host itself when it is an IP.
func resolve(ctx context.Context, host string, env Env) ([]net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}, nil
	}
	return env.LookupIP(ctx, host)
}

// usable reports whether ip can be announced to peers on other hosts.
func usable(ip net.IP) bool {
	return !ip.IsUnspecified() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsMulticast()
}

// Local reports whether ip is still one of this host's addresses; when the
// host cannot tell (its interfaces cannot be listed), it says yes. A peer
// whose advertised address is no longer local has moved (a container
// reconnected to its network with another IP) and must choose again. It is
// safe for concurrent use if env is.
func Local(ip net.IP, env Env) bool {
	if ip == nil {
		return true
	}
	local, err := env.LocalAddrs()
	if err != nil {
		return true
	}
	for _, l := range local {
		if l.Equal(ip) {
			return true
		}
	}
	return false
}

// Sole returns this host's only usable address (not loopback, link-local,
// multicast or unspecified), if it has exactly one: a container on one
// network. It needs no name lookup, so a peer that moved can announce its
// new address before DNS answers. It is safe for concurrent use if env is.
func Sole(env Env) (net.IP, bool) {
	local, err := env.LocalAddrs()
	if err != nil {
		return nil, false
	}
	var sole net.IP
	for _, ip := range local {
		if !usable(ip) {
			continue
		}
		if sole != nil && !sole.Equal(ip) {
			return nil, false
		}
		sole = ip
	}
	return sole, sole != nil
}
