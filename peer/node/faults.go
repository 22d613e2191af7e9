package node

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"roster/peer/fault"
	"roster/peer/fsm"
	"roster/peer/viewlog"
)

// FaultOptions turn on in-process fault injection for a peer.
type FaultOptions struct {
	// Enabled wraps the transports with a fault injector.
	Enabled bool
	// API mounts the fault API (/faults) on the HTTP API.
	API bool
	// Flags are the faults to start with (loss, delay, a scheduled partition).
	Flags fault.Flags
	// Start is the time the schedule of Flags counts from (default: now).
	Start time.Time
	// Seed seeds the injector's randomness (0: random, logged).
	Seed uint64
}

// resolver maps hosts (IPs and names) to peer ids for the fault injector:
// the hostsfile's names and addresses, plus every address failure detection
// has seen a peer at. Learned addresses are kept after the peer is gone, so
// that a partition still cuts a peer the others have declared dead. Safe for
// concurrent use. Failure detection feeds it (learn) as it hears of peers.
type resolver struct {
	mu    sync.RWMutex
	hosts map[string]int
}

func (r *resolver) PeerByAddr(addr string) (int, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	id, ok := r.hosts[fault.Host(addr)]
	return id, ok
}

func (r *resolver) learn(host string, id int) {
	h := fault.Host(host)
	r.mu.RLock()
	known := r.hosts[h] == id
	r.mu.RUnlock()
	if !known {
		r.mu.Lock()
		r.hosts[h] = id
		r.mu.Unlock()
	}
}

// setupFaults builds the injector and plugs it into opts' transport seams.
func (n *Node) setupFaults(opts *Options) {
	r := &resolver{hosts: map[string]int{}}
	for _, p := range n.cfg.Hosts.Peers {
		r.hosts[p.Name] = p.ID
		if p.Host != "" {
			r.hosts[fault.Host(p.Host)] = p.ID
		}
	}
	n.resolver = r
	var local net.IP
	if ip := net.ParseIP(n.cfg.Bind); ip != nil && !ip.IsUnspecified() {
		local = ip
	}
	n.faults = fault.New(fault.Options{
		Self: n.cfg.Self.ID, Resolver: r, Seed: opts.Faults.Seed, LocalIP: local,
		Logf: func(format string, args ...any) { n.log.Warn("faults: " + fmt.Sprintf(format, args...)) },
	})
	n.log.Info("fault injection on", "seed", n.faults.Seed())
	opts.WrapTransport = n.faults.WrapTransport
	opts.WrapStream = n.faults.WrapStreamLayer
	if opts.Faults.API {
		if opts.Handlers == nil {
			opts.Handlers = map[string]http.Handler{}
		}
		h := n.faults.Handler()
		opts.Handlers["/faults"] = h
		opts.Handlers["/faults/"] = h
	}
}

// armLeaderCrash sets up test case 4 (-t): when this peer, as leader,
// removes a member, the replication of that entry to the member next in line
// (the lowest id after the leader) is dropped, and the peer crashes the
// moment its state machine applies the committed entry, that is once the
// entry reached a majority and before the next message could tell anyone.
func (n *Node) armLeaderCrash(opts *Options) {
	var once sync.Once
	prevBefore := opts.Hooks.BeforeCommit
	opts.Hooks.BeforeCommit = func(c fsm.Change) {
		if prevBefore != nil {
			prevBefore(c)
		}
		if len(c.Del) == 0 {
			return
		}
		v := n.fsm.View()
		next := nextInLine(v.Members, n.cfg.Self.ID, c.Del)
		if next == 0 {
			return
		}
		n.log.Warn("leader crash scenario: dropping the replication of the removal", "removed", c.Del, "to", next)
		n.faults.AddRules(fault.Rule{Peers: []int{next}, Scope: fault.Raft, Block: true})
		n.printer.armCrash(func() {
			once.Do(func() {
				// Silence every link at once, then stop (off the FSM goroutine).
				n.faults.Pause(time.Hour)
				n.printer.message(viewlog.Crashing, true)
				go func() {
					n.stop(0)
					close(n.crashed)
				}()
			})
		})
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
