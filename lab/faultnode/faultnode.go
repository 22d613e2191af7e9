// Package faultnode plugs fault injection and the scripted leader crash of
// test case 4 (-t) into a roster peer through the seams node offers:
// transport and stream wrappers, the fault API handler, the reconcile hooks,
// an address hook feeding the injector's resolver, and an install hook that
// crashes the peer. The peer itself knows nothing of faults.
package faultnode

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"roster/lab/fault"
	"roster/peer/config"
	"roster/peer/fsm"
	"roster/peer/node"
)

// Options turn on in-process fault injection for a peer.
type Options struct {
	// API mounts the fault API (/faults) on the HTTP API.
	API bool
	// Flags are the faults to start with (loss, delay, a scheduled partition).
	Flags fault.Flags
	// Start is the time the schedule of Flags counts from (default: now).
	Start time.Time
	// Seed seeds the injector's randomness (0: random, logged).
	Seed uint64
	// LeaderCrash arms test case 4 (-t): as leader, drop the replication of
	// the next removal to the peer next in line and crash once it committed.
	LeaderCrash bool
}

// Peer is the fault side of one peer: build it with New before node.Start,
// pass NodeOptions to node.Start, then call Attach with the started node.
// Its methods are safe for concurrent use.
type Peer struct {
	opts     Options
	inj      *fault.Injector
	resolver *resolver
	node     atomic.Pointer[node.Node]
	crashed  chan struct{}
	cancel   context.CancelFunc
	once     sync.Once
	self     int
}

// New builds the injector for the peer cfg describes (cfg must have passed
// Validate, so that cfg.Self is set).
func New(cfg config.Config, opts Options) *Peer {
	r := &resolver{hosts: map[string]int{}}
	for _, p := range cfg.Hosts.Peers {
		r.hosts[p.Name] = p.ID
		if p.Host != "" {
			r.hosts[fault.Host(p.Host)] = p.ID
		}
	}
	var local net.IP
	if ip := net.ParseIP(cfg.Bind); ip != nil && !ip.IsUnspecified() {
		local = ip
	}
	log := node.Logger(cfg)
	p := &Peer{opts: opts, resolver: r, crashed: make(chan struct{}), self: cfg.Self.ID}
	p.inj = fault.New(fault.Options{
		Self: cfg.Self.ID, Resolver: r, Seed: opts.Seed, LocalIP: local,
		// The faults a scenario injects are its script, not a failure: info.
		Logf: func(format string, args ...any) { log.Info("faults: " + fmt.Sprintf(format, args...)) },
	})
	log.Info("fault injection on", "seed", p.inj.Seed())
	return p
}

// NodeOptions returns the node options that plug the injector (and the
// leader-crash scenario, if armed) into the peer, on top of base.
func (p *Peer) NodeOptions(base node.Options) node.Options {
	o := base
	o.WrapTransport = chain(base.WrapTransport, p.inj.WrapTransport)
	o.WrapStream = chain(base.WrapStream, p.inj.WrapStreamLayer)
	o.Dial = p.inj.WrapDial(base.Dial)
	prevAddr := base.OnPeerAddr
	o.OnPeerAddr = func(id int, ip net.IP) {
		p.resolver.learn(ip.String(), id)
		if prevAddr != nil {
			prevAddr(id, ip)
		}
	}
	if p.opts.API {
		o.Handlers = map[string]http.Handler{}
		for k, v := range base.Handlers {
			o.Handlers[k] = v
		}
		h := p.inj.Handler()
		o.Handlers["/faults"] = h
		o.Handlers["/faults/"] = h
	}
	if p.opts.LeaderCrash {
		p.armLeaderCrash(&o)
	}
	return o
}

// chain applies inner first, then outer.
func chain[T any](inner func(T) T, outer func(T) T) func(T) T {
	if inner == nil {
		return outer
	}
	return func(t T) T { return outer(inner(t)) }
}

// Attach starts the faults of Options.Flags on the started peer n; they
// run until Close.
func (p *Peer) Attach(n *node.Node) error {
	p.node.Store(n)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	start := p.opts.Start
	if start.IsZero() {
		start = time.Now()
	}
	return p.opts.Flags.Apply(ctx, p.inj, start)
}

// Close stops the scheduled faults.
func (p *Peer) Close() {
	if p.cancel != nil {
		p.cancel()
	}
}

// Injector returns the peer's fault injector.
func (p *Peer) Injector() *fault.Injector { return p.inj }

// Crashed is closed when the peer crashed by itself (the -t scenario).
func (p *Peer) Crashed() <-chan struct{} { return p.crashed }

// armLeaderCrash sets up test case 4 (-t): when this peer, as leader,
// removes a member, the replication of that entry to the member next in line
// (the lowest id after the leader) is dropped, and the peer crashes the
// moment its state machine applies the committed entry, that is once the
// entry reached a majority and before the next message could tell anyone.
func (p *Peer) armLeaderCrash(o *node.Options) {
	var armed atomic.Bool
	prevBefore := o.Hooks.BeforeCommit
	o.Hooks.BeforeCommit = func(c fsm.Change) {
		if prevBefore != nil {
			prevBefore(c)
		}
		n := p.node.Load()
		if len(c.Del) == 0 || n == nil {
			return
		}
		next := nextInLine(n.View().Members, p.self, c.Del)
		if next == 0 {
			return
		}
		n.Logger().Info("leader crash scenario: dropping the replication of the removal", "removed", c.Del, "to", next)
		p.inj.AddRules(fault.Rule{Peers: []int{next}, Scope: fault.Raft, Block: true})
		armed.Store(true)
	}
	prevIntercept := o.Intercept
	o.Intercept = func(prev, next fsm.View) bool {
		if prevIntercept != nil && prevIntercept(prev, next) {
			return true
		}
		if !armed.Load() || next.Leader != p.self || !removes(prev, next) {
			return false
		}
		crashed := false
		p.once.Do(func() {
			crashed = true
			// Silence every link at once, then crash (off the FSM goroutine).
			p.inj.Pause(time.Hour)
			go func() {
				if n := p.node.Load(); n != nil {
					n.Crash()
				}
				close(p.crashed)
			}()
		})
		return crashed
	}
}

// nextInLine returns the lowest member id after the leader that is not being
// removed, or 0.
func nextInLine(members []int, leader int, removed []int) int {
	for _, id := range members {
		if id > leader && !slices.Contains(removed, id) {
			return id
		}
	}
	for _, id := range members {
		if id != leader && !slices.Contains(removed, id) {
			return id
		}
	}
	return 0
}

// removes reports whether next lacks a member of prev.
func removes(prev, next fsm.View) bool {
	for _, m := range prev.Members {
		if !next.Contains(m) {
			return true
		}
	}
	return false
}

// resolver maps hosts (IPs and names) to peer ids for the fault injector:
// the hostsfile's names and addresses, plus every address failure detection
// has seen a peer at. Learned addresses are kept after the peer is gone, so
// that a partition still cuts a peer the others have declared dead. Safe for
// concurrent use.
type resolver struct {
	mu    sync.RWMutex
	hosts map[string]int
}

// PeerByAddr returns the peer at addr (a host or host:port).
func (r *resolver) PeerByAddr(addr string) (int, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	id, ok := r.hosts[fault.Host(addr)]
	return id, ok
}

func (r *resolver) learn(host string, id int) {
	h := fault.Host(host)
	r.mu.Lock()
	r.hosts[h] = id
	r.mu.Unlock()
}
