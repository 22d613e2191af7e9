// Package directory tells a peer's name from its id and back: the hostsfile
// lines first (the line number is the id), then the ids the cluster's
// registry gave by consensus to peers outside the hostsfile (see fsm's
// Register), as this peer has learned them from its log or, before it has
// one, from the peers it gossips with. It is safe for concurrent use.
package directory

import (
	"maps"
	"sync"

	"roster/peer/hostsfile"
)

// Directory maps peer names to ids. Build it with New.
type Directory struct {
	hosts *hostsfile.File

	mu    sync.RWMutex
	names map[string]int // registered peers (never hostsfile names)
	byID  map[int]string
}

// New returns a directory of the hostsfile peers (hosts may have no peers).
func New(hosts *hostsfile.File) *Directory {
	return &Directory{hosts: hosts, names: map[string]int{}, byID: map[int]string{}}
}

// Hosts returns the hostsfile.
func (d *Directory) Hosts() *hostsfile.File { return d.hosts }

// ID returns the id of the peer called name, and whether it has one.
func (d *Directory) ID(name string) (int, bool) {
	if id, ok := d.hosts.ID(name); ok {
		return id, true
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.names[name]
	return id, ok
}

// Peer returns peer id as a hostsfile line (a registered peer has a name
// and no address column), and whether the id is known.
func (d *Directory) Peer(id int) (hostsfile.Peer, bool) {
	if p, ok := d.hosts.Peer(id); ok {
		return p, true
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	name, ok := d.byID[id]
	if !ok {
		return hostsfile.Peer{}, false
	}
	return hostsfile.Peer{ID: id, Name: name}, true
}

// Name returns the name of peer id, or "" when it is unknown.
func (d *Directory) Name(id int) string {
	p, _ := d.Peer(id)
	return p.Name
}

// Learn adds registered names; it returns whether any was new. A name of
// the hostsfile, or a name or id known already under another pairing, is
// ignored: the registry only grows, and what this peer knows first (from
// its own log) wins over what another peer gossips.
func (d *Directory) Learn(names map[string]int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed := false
	for name, id := range names {
		if id < 1 || hostsfile.CheckName(name) != nil {
			continue
		}
		if _, ok := d.hosts.ID(name); ok {
			continue
		}
		if _, ok := d.hosts.Peer(id); ok {
			continue
		}
		if _, ok := d.names[name]; ok {
			continue
		}
		if _, ok := d.byID[id]; ok {
			continue
		}
		d.names[name], d.byID[id] = id, name
		changed = true
	}
	return changed
}

// Registered returns a copy of the registered names and their ids.
func (d *Directory) Registered() map[string]int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return maps.Clone(d.names)
}

// Listed reports whether name is a hostsfile peer.
func (d *Directory) Listed(name string) bool {
	_, ok := d.hosts.ID(name)
	return ok
}

// NextID returns the id a registration should start at, given the
// registry's next id: past every hostsfile line too, so that hostsfile
// names keep their line numbers.
func (d *Directory) NextID(registryNext int) int {
	return max(registryNext, len(d.hosts.Peers)+1, 1)
}
