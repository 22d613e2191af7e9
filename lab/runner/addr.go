package runner

import (
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"

	"roster/peer/config"
)

// Endpoint is where one peer of a run listens. Values are plain data.
type Endpoint struct {
	// Service is the compose service name, Peer the peer's name.
	Service, Peer string
	// ID is the peer's id in the generated hostsfile.
	ID int
	// IP is the loopback address the peer binds.
	IP string
	// RaftPort (TCP), GossipPort (UDP and TCP, memberlist) and APIPort
	// (HTTP) are the peer's ports.
	RaftPort, GossipPort, APIPort int
}

// APIAddr returns the peer's HTTP API address, host:port.
func (e Endpoint) APIAddr() string {
	return net.JoinHostPort(e.IP, strconv.Itoa(e.APIPort))
}

// The peer's default ports, tried first so that a lab run looks like a
// Docker one when they are free.
var defaultPorts = [3]int{config.DefaultRaftPort, config.DefaultGossipPort, config.DefaultAPIPort}

// Random port triples come from below Linux's ephemeral range, so that
// outgoing connections of other programs rarely take them between the probe
// and the peer's bind.
const (
	portLow  = 10000
	portHigh = 32000
)

// placement is where the peers of one run listen.
type placement struct {
	ips   []string
	ports [][3]int
	// uniform is true when every peer has the same ports, so the hostsfile
	// address column needs no port.
	uniform bool
}

// place chooses an address and three free ports for each of n peers. On
// Linux every peer gets its own address in a random 127.X.Y.0/24 block
// (hosts .11, .12, ...) and, when possible, the same ports; elsewhere, or
// with shared set, all use 127.0.0.1 with distinct ports. Ports are probed by
// binding them; a port that is free now may still be taken before the peer
// binds it, which the peer then reports.
func place(n int, shared bool) (*placement, error) {
	if !shared && runtime.GOOS == "linux" {
		if pl, ok := placeOwnAddresses(n); ok {
			return pl, nil
		}
	}
	return placeShared(n)
}

func placeOwnAddresses(n int) (*placement, bool) {
	for attempt := 0; attempt < 8; attempt++ {
		x, y := 64+rand.IntN(190), rand.IntN(240)
		base := uint32(127)<<24 | uint32(x)<<16 | uint32(y)<<8
		pl := &placement{uniform: true}
		for i := range n {
			a := base + 11 + uint32(i)
			pl.ips = append(pl.ips, net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).String())
		}
		if !canBind(pl.ips[0]) {
			return nil, false // no loopback range on this machine
		}
		candidates := [][3]int{defaultPorts}
		for range 20 {
			candidates = append(candidates, randomTriple())
		}
		for _, t := range candidates {
			if allFree(pl.ips, t) {
				for range n {
					pl.ports = append(pl.ports, t)
				}
				return pl, true
			}
		}
	}
	return nil, false
}

func placeShared(n int) (*placement, error) {
	const ip = "127.0.0.1"
	pl := &placement{uniform: n <= 1}
	used := map[int]bool{}
	for range n {
		found := false
		for range 200 {
			t := randomTriple()
			if used[t[0]] || used[t[1]] || used[t[2]] || !free(ip, t) {
				continue
			}
			used[t[0]], used[t[1]], used[t[2]] = true, true, true
			pl.ips = append(pl.ips, ip)
			pl.ports = append(pl.ports, t)
			found = true
			break
		}
		if !found {
			return nil, fmt.Errorf("no free ports on %s for %d peers", ip, n)
		}
	}
	return pl, nil
}

func randomTriple() [3]int {
	b := portLow + rand.IntN(portHigh-portLow-3)
	return [3]int{b, b + 1, b + 2}
}

func canBind(ip string) bool {
	c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func allFree(ips []string, t [3]int) bool {
	for _, ip := range ips {
		if !free(ip, t) {
			return false
		}
	}
	return true
}

// free reports whether ip has TCP ports t[0..2] and UDP port t[1] free.
func free(ip string, t [3]int) bool {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for _, p := range t {
		l, err := net.Listen("tcp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		closers = append(closers, l.Close)
	}
	c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(t[1])))
	if err != nil {
		return false
	}
	closers = append(closers, c.Close)
	return true
}
