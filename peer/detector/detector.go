// Package detector is failure detection for a roster peer: a memberlist
// (SWIM) instance tuned for a LAN, the set of hostsfile peers it sees alive,
// a periodic re-join of the missing ones, and a fast direct check that the
// Raft leader can ask for when a follower stops answering heartbeats.
package detector

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"

	"roster/peer/hostsfile"
)

// ProbeInterval is memberlist's probe period.
const ProbeInterval = 1100 * time.Millisecond

// Config configures a Detector.
type Config struct {
	// Self is this peer's hostsfile line.
	Self  hostsfile.Peer
	Hosts *hostsfile.File
	// BindAddr is the IP to listen on; AdvertiseAddr the IP to announce
	// ("" lets memberlist pick from BindAddr or the interfaces).
	BindAddr, AdvertiseAddr string
	// Port is this peer's memberlist port (UDP and TCP), and the port of
	// every peer whose hostsfile line names none.
	Port int
	Meta Meta
	// WrapTransport, if set, wraps memberlist's network transport (fault injection).
	WrapTransport func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
	// OnDown is called (from a memberlist goroutine; it must not block)
	// when a peer is found dead, not when it leaves gracefully.
	OnDown func(id int)
	// OnAddr, if set, is called (from a memberlist goroutine; it must not
	// block) with every address memberlist reports for a hostsfile peer.
	OnAddr func(id int, addr net.IP)
	Logger hclog.Logger
}

// Member is a hostsfile peer that memberlist sees alive.
type Member struct {
	ID   int
	Addr net.IP
	Meta Meta
}

// Detector tracks which hostsfile peers are alive. Its methods are safe for
// concurrent use.
type Detector struct {
	cfg     Config
	ml      *memberlist.Memberlist
	log     hclog.Logger
	changed chan struct{}
	// probeTimeout is memberlist's ProbeTimeout: how long a ping waits.
	probeTimeout time.Duration

	mu      sync.Mutex
	alive   map[int]Member
	leaving map[int]bool      // peers that announced a graceful leave
	pending map[int]Member    // declared dead by memberlist, not yet confirmed
	down    map[int]bool      // confirmed dead by a direct check
	checks  map[int]bool      // direct checks in flight
	joining map[int]bool      // re-joins in flight
	acked   map[int]time.Time // last ack to a direct ping
	meta    Meta
}

// Start creates the memberlist instance. It does not join anyone: call Run.
func Start(cfg Config) (*Detector, error) {
	d := &Detector{
		cfg:     cfg,
		log:     cfg.Logger.Named("detector"),
		changed: make(chan struct{}, 1),
		alive:   map[int]Member{},
		leaving: map[int]bool{},
		pending: map[int]Member{},
		down:    map[int]bool{},
		checks:  map[int]bool{},
		joining: map[int]bool{},
		acked:   map[int]time.Time{},
		meta:    cfg.Meta,
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Self.Name
	mc.BindAddr = cfg.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "0.0.0.0"
	}
	mc.BindPort = cfg.Port
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.Port
	tune(mc)
	d.probeTimeout = mc.ProbeTimeout
	mc.Events = (*events)(d)
	mc.Delegate = (*delegate)(d)
	mc.Logger = log.New(shutdownFilter{logFilter{cfg.Logger.Named("memberlist").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true})}}, "", 0)
	mc.LogOutput = nil

	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{mc.BindAddr},
		BindPort:  cfg.Port,
		Logger:    mc.Logger,
	})
	if err != nil {
		addr := net.JoinHostPort(mc.BindAddr, strconv.Itoa(cfg.Port))
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("gossip port %s: address already in use", addr)
		}
		return nil, fmt.Errorf("gossip port %s: %w", addr, err)
	}
	var t memberlist.NodeAwareTransport = nt
	if cfg.WrapTransport != nil {
		t = cfg.WrapTransport(t)
	}
	mc.Transport = t
	ml, err := memberlist.Create(mc)
	if err != nil {
		nt.Shutdown()
		return nil, fmt.Errorf("start memberlist: %w", err)
	}
	d.ml = ml
	return d, nil
}

// tune sets memberlist's timings for a LAN with a 1.1 s probe period.
func tune(mc *memberlist.Config) {
	mc.ProbeInterval = ProbeInterval
	mc.ProbeTimeout = 300 * time.Millisecond
	mc.SuspicionMult = 1
	mc.SuspicionMaxTimeoutMult = 4
	mc.GossipInterval = 100 * time.Millisecond
	mc.PushPullInterval = 15 * time.Second
	mc.TCPTimeout = 2 * time.Second
	// A restarted peer may come back with a new address under its old name.
	mc.DeadNodeReclaimTime = time.Second
}

// LocalAddr returns the IP this peer advertises.
func (d *Detector) LocalAddr() net.IP { return d.ml.LocalNode().Addr }

// Changed delivers a signal after the alive set may have changed.
func (d *Detector) Changed() <-chan struct{} { return d.changed }

func (d *Detector) notify() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// Members returns the hostsfile peers that count as alive, the local one
// included: those memberlist sees alive, and those it declared dead that no
// direct check has confirmed down yet.
func (d *Detector) Members() map[int]Member {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int]Member, len(d.alive)+len(d.pending))
	for _, set := range []map[int]Member{d.pending, d.alive} {
		for id, m := range set {
			if !d.down[id] {
				out[id] = m
			}
		}
	}
	return out
}

// Alive maps the ids of the alive hostsfile peers to their Raft addresses.
func (d *Detector) Alive() map[int]string {
	out := map[int]string{}
	for id, m := range d.Members() {
		out[id] = net.JoinHostPort(m.Addr.String(), strconv.Itoa(m.Meta.RaftPort))
	}
	return out
}

// Run joins the other hostsfile peers and keeps re-joining the missing ones
// every interval until ctx is done. memberlist alone does not re-merge after
// a long partition.
func (d *Detector) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.rejoinMissing(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Detector) rejoinMissing(ctx context.Context) {
	for _, p := range d.cfg.Hosts.Peers {
		if p.ID == d.cfg.Self.ID {
			continue
		}
		d.mu.Lock()
		_, ok := d.alive[p.ID]
		busy := d.joining[p.ID]
		if !ok && !busy {
			d.joining[p.ID] = true
		}
		d.mu.Unlock()
		if ok || busy {
			continue
		}
		go func(p hostsfile.Peer) {
			defer func() {
				d.mu.Lock()
				delete(d.joining, p.ID)
				d.mu.Unlock()
			}()
			if ctx.Err() != nil {
				return
			}
			if p.Host == "" {
				// Under Docker a crashed container's name stops resolving:
				// skip it quietly rather than have memberlist warn each time.
				if _, err := net.DefaultResolver.LookupHost(ctx, p.Name); err != nil {
					d.log.Trace("peer does not resolve", "peer", p.Name, "error", err)
					return
				}
			}
			if _, err := d.ml.Join([]string{d.seed(p)}); err != nil {
				d.log.Trace("join failed", "peer", p.Name, "error", err)
			}
		}(p)
	}
}

// seed returns the memberlist address of a hostsfile peer.
func (d *Detector) seed(p hostsfile.Peer) string {
	host, port := p.Host, p.Port
	if host == "" {
		host = p.Name
	}
	if port == 0 {
		port = d.cfg.Port
	}
	// memberlist parses "name/host:port" so the node name is checked too.
	return p.Name + "/" + net.JoinHostPort(host, strconv.Itoa(port))
}

// SetJoined announces that this peer belongs to a cluster.
func (d *Detector) SetJoined() {
	d.mu.Lock()
	d.meta.Joined = true
	d.mu.Unlock()
	// A timeout only says the update has not gone out yet: it goes with the
	// next gossip.
	if err := d.ml.UpdateNode(time.Second); err != nil {
		d.log.Debug("announce joined", "error", err)
	}
}

// ClusterExists reports whether another alive peer says it belongs to a cluster.
func (d *Detector) ClusterExists() bool {
	for id, m := range d.Members() {
		if id != d.cfg.Self.ID && m.Meta.Joined {
			return true
		}
	}
	return false
}

// JoinNow tries once to join every other hostsfile peer, and waits for the
// attempts to end (at most memberlist's TCP timeout).
func (d *Detector) JoinNow() {
	var wg sync.WaitGroup
	for _, p := range d.cfg.Hosts.Peers {
		if p.ID == d.cfg.Self.ID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.ml.Join([]string{d.seed(p)})
		}()
	}
	wg.Wait()
}

// Leave announces a graceful leave and leaves the cluster.
func (d *Detector) Leave(timeout time.Duration) error {
	d.mu.Lock()
	d.meta.Leaving = true
	d.mu.Unlock()
	if err := d.ml.UpdateNode(timeout / 2); err != nil {
		d.log.Warn("announce leave", "error", err)
	}
	return d.ml.Leave(timeout / 2)
}

// Shutdown stops memberlist at once, without telling anyone (a crash).
func (d *Detector) Shutdown() error { return d.ml.Shutdown() }

// shutdownFilter drops memberlist's complaints about its own closed sockets,
// which it logs as errors while it shuts down.
type shutdownFilter struct{ w io.Writer }

func (f shutdownFilter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "use of closed network connection") {
		return len(p), nil
	}
	return f.w.Write(p)
}
