// Package identity answers "is this address peer N's?" from the hostsfile:
// a peer owns the IP of its hostsfile address column, or the IPs the DNS
// name there resolves to now, or, without one, the IPs its name resolves to. Names are resolved fresh (answers are kept
// for a few seconds, and looked up again at once when an unknown address
// shows up), never pinned to the first address seen, so a peer that moves
// to a new address is recognised as soon as its name resolves there.
package identity

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"

	"roster/peer/hostsfile"
)

// Cache settings: an answer is trusted for fresh; an address not in it
// forces a new lookup once the answer is older than recheck; a lookup waits
// at most lookupTimeout.
const (
	fresh         = 5 * time.Second
	recheck       = time.Second
	lookupTimeout = time.Second
)

// LookupFunc resolves a name to its IPs (net.DefaultResolver.LookupIP
// with network "ip" by default).
type LookupFunc func(ctx context.Context, name string) ([]net.IP, error)

// Resolver tells whether an address belongs to a hostsfile peer. Safe for
// concurrent use.
type Resolver struct {
	hosts  *hostsfile.File
	lookup LookupFunc
	// literal maps the IPs written in the hostsfile (string(ip.To16())) to
	// their peers; named lists the peers whose address is a DNS name. The
	// gossip guard asks Known for every packet: a scan of every peer's
	// line made each packet cost O(peers).
	literal map[string][]int
	named   []int

	mu    sync.Mutex
	cache map[string]*entry
}

type entry struct {
	mu  sync.Mutex // one lookup of a name at a time
	ips []net.IP
	at  time.Time
}

// New returns a resolver for the peers of hosts; lookup nil means DNS.
func New(hosts *hostsfile.File, lookup LookupFunc) *Resolver {
	if lookup == nil {
		lookup = func(ctx context.Context, name string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", name)
		}
	}
	r := &Resolver{hosts: hosts, lookup: lookup, cache: map[string]*entry{}, literal: map[string][]int{}}
	for _, p := range hosts.Peers {
		if lit := net.ParseIP(lookupName(p)); lit != nil {
			k := string(lit.To16())
			r.literal[k] = append(r.literal[k], p.ID)
		} else {
			r.named = append(r.named, p.ID)
		}
	}
	return r
}

// Owns reports whether ip is an address of peer id.
func (r *Resolver) Owns(id int, ip net.IP) bool {
	p, ok := r.hosts.Peer(id)
	if !ok || ip == nil {
		return false
	}
	name := lookupName(p)
	if lit := net.ParseIP(name); lit != nil {
		return lit.Equal(ip)
	}
	return r.resolves(name, ip)
}

// lookupName is what a peer's addresses come from: its address column (an
// IP, or a DNS name such as a Kubernetes pod's), else its name.
func lookupName(p hostsfile.Peer) string {
	if p.Host != "" {
		return p.Host
	}
	return p.Name
}

// OwnsName is Owns for a peer given by its hostsfile name.
func (r *Resolver) OwnsName(name string, ip net.IP) bool {
	id, ok := r.hosts.ID(name)
	return ok && r.Owns(id, ip)
}

// Known reports whether ip belongs to any hostsfile peer.
func (r *Resolver) Known(ip net.IP) bool {
	if len(r.literal[string(ip.To16())]) > 0 {
		return true
	}
	for _, id := range r.named {
		if r.Owns(id, ip) {
			return true
		}
	}
	return false
}

// PeersAt returns the ids of the hostsfile peers that own ip (several when
// peers share an address, as on one host with distinct ports).
func (r *Resolver) PeersAt(ip net.IP) []int {
	var out []int
	if ip != nil {
		out = append(out, r.literal[string(ip.To16())]...)
	}
	for _, id := range r.named {
		if r.Owns(id, ip) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Addrs returns the IPs peer id owns now (resolving its name if needed).
func (r *Resolver) Addrs(id int) []net.IP {
	p, ok := r.hosts.Peer(id)
	if !ok {
		return nil
	}
	name := lookupName(p)
	if lit := net.ParseIP(name); lit != nil {
		return []net.IP{lit}
	}
	e := r.entry(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.at) > fresh {
		r.refresh(name, e)
	}
	return append([]net.IP(nil), e.ips...)
}

func (r *Resolver) entry(name string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.cache[name]
	if e == nil {
		e = &entry{}
		r.cache[name] = e
	}
	return e
}

// resolves reports whether name resolves to ip, from the cache when its
// answer is fresh and holds ip, else from a new lookup (at most one a
// recheck period per name).
func (r *Resolver) resolves(name string, ip net.IP) bool {
	e := r.entry(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	age := time.Since(e.at)
	if age < fresh && contains(e.ips, ip) {
		return true
	}
	if age >= recheck {
		r.refresh(name, e)
	}
	return contains(e.ips, ip)
}

// refresh looks name up again; the caller holds e.mu. A failed lookup
// forgets the old answer: a name that stopped resolving owns nothing.
func (r *Resolver) refresh(name string, e *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	ips, err := r.lookup(ctx, name)
	if err != nil {
		ips = nil
	}
	e.ips, e.at = ips, time.Now()
}

func contains(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}
