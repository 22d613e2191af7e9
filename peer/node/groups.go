package node

import (
	"crypto/tls"
	"net"
	"net/http"

	"roster/peer/groups/service"
)

// startGroups builds the client groups service and mounts its API; the
// service runs from Start, with the peer's other loops.
func (n *Node) startGroups(opts Options) {
	var peerTLS *tls.Config
	if n.tls != nil && !n.tls.Derived() {
		peerTLS = n.tls.Client() // the API serves HTTPS with the TLS files
	}
	n.groups = service.New(service.Config{
		Self:  n.cfg.Self.ID,
		Raft:  n.raft,
		State: n.fsm.Groups(),
		Members: func() (uint64, []int) {
			v := n.fsm.View()
			return v.ID, v.Members
		},
		PeerAPI:  n.det.APIAddr,
		Interval: n.cfg.ClientInterval,
		Misses:   n.cfg.ClientMisses,
		Dial:     opts.Dial,
		Header:   n.peerHeader(opts.PeerHeader),
		LocalIP:  net.ParseIP(n.cfg.Bind),
		TLS:      peerTLS,
		Logger:   n.log,
	})
	if n.api != nil {
		n.api.MountGroups(n.groups)
	}
}

// Groups returns the peer's client groups service.
func (n *Node) Groups() *service.Service { return n.groups }

// peerHeader is what this peer sends with every request to another peer's
// API: base, and the API token when the peers require one (the peers of a
// cluster share it).
func (n *Node) peerHeader(base http.Header) http.Header {
	if n.cfg.APIToken == "" {
		return base
	}
	h := base.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+n.cfg.APIToken)
	return h
}
