package nemesis

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/hostsfile"
)

// PeersEnv is the environment variable the lab runner sets for the
// processes of a run: where each peer's HTTP API listens, in the --peers
// form "one=127.0.0.11:8082,two=127.0.0.12:8082".
const PeersEnv = "ROSTER_LAB_PEERS"

// DefaultAPIPort is the peers' HTTP API port when only a hostsfile says
// where they are.
const DefaultAPIPort = config.DefaultAPIPort

// Target is one peer the nemesis can reach. A plain value.
type Target struct {
	// Name is the peer's hostsfile name.
	Name string
	// ID is the peer's id; 0 while unknown (learned from GET /health).
	ID int
	// API is the host:port of the peer's HTTP API.
	API string
}

// Peers is the set of peers a nemesis drives, and how to find their ids and
// the current leader. Safe for concurrent use.
type Peers struct {
	// HTTP is the client for the peers' APIs (nil: a client with a 2 s
	// timeout).
	HTTP *http.Client
	// Token is the peers' API token, for peers that need it on reads too.
	Token string

	mu      sync.Mutex
	targets []Target
}

// NewPeers returns a set of targets (copied). Names must be distinct.
func NewPeers(targets []Target) (*Peers, error) {
	seen := map[string]bool{}
	for _, t := range targets {
		if t.Name == "" || t.API == "" {
			return nil, fmt.Errorf("peer %q at %q: want a name and an API address", t.Name, t.API)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("peer %q named twice", t.Name)
		}
		seen[t.Name] = true
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no peers to drive")
	}
	return &Peers{targets: slices.Clone(targets)}, nil
}

// ParsePeers reads the --peers form: a comma-separated list of
// "NAME=HOST:PORT" or "HOST:PORT" (the peer is then named after HOST).
func ParsePeers(s string) ([]Target, error) {
	var out []Target
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, addr, named := strings.Cut(f, "=")
		if !named {
			addr = f
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%q: want NAME=HOST:PORT or HOST:PORT", f)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%q: port %q is not a port number", f, port)
		}
		if !named {
			name = host
		}
		if name == "" {
			return nil, fmt.Errorf("%q: empty peer name", f)
		}
		out = append(out, Target{Name: name, API: addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no peers", s)
	}
	return out, nil
}

// HostsfileTargets returns the hostsfile's peers, each at the address its
// line carries (else its name) and apiPort.
func HostsfileTargets(hf *hostsfile.File, apiPort int) []Target {
	var out []Target
	for _, p := range hf.Peers {
		host := p.Host
		if host == "" {
			host = p.Name
		}
		out = append(out, Target{Name: p.Name, ID: p.ID, API: net.JoinHostPort(host, strconv.Itoa(apiPort))})
	}
	return out
}

// WithIDs fills in the ids of targets that the hostsfile names; targets it
// does not name keep their id.
func WithIDs(targets []Target, hf *hostsfile.File) []Target {
	out := slices.Clone(targets)
	for i := range out {
		if id, ok := hf.ID(out[i].Name); ok {
			out[i].ID = id
		}
	}
	return out
}

// All returns the targets, in order.
func (p *Peers) All() []Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.targets)
}

// health asks one peer for its status.
func (p *Peers) health(ctx context.Context, t Target) (api.Status, error) {
	st, err := api.Client{Addr: t.API, HTTP: p.HTTP, Token: p.Token}.Status(ctx)
	if err != nil && st.ID == 0 {
		return st, err
	}
	return st, nil
}

// statuses asks every target for its status at once and learns the ids.
func (p *Peers) statuses(ctx context.Context) map[string]api.Status {
	ts := p.All()
	var mu sync.Mutex
	out := map[string]api.Status{}
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h, err := p.health(ctx, t); err == nil {
				mu.Lock()
				out[t.Name] = h
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	p.mu.Lock()
	for i := range p.targets {
		if h, ok := out[p.targets[i].Name]; ok && p.targets[i].ID == 0 {
			p.targets[i].ID = h.ID
		}
	}
	p.mu.Unlock()
	return out
}

// lookup finds a target by name or id without asking the network.
func (p *Peers) lookup(ref string) (Target, bool) {
	id, isID := strconv.Atoi(ref)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.targets {
		if t.Name == ref || (isID == nil && t.ID == id) {
			return t, true
		}
	}
	return Target{}, false
}

// Resolve finds the peer ref names: a target's name, its id (asking the
// peers' /health for ids still unknown), or "leader", the peer that says it
// is the Raft leader now (the one with the newest view if several do, as on
// both sides of a partition), else the leader most peers name.
func (p *Peers) Resolve(ctx context.Context, ref string) (Target, error) {
	if ref == "leader" {
		return p.leader(ctx)
	}
	if t, ok := p.lookup(ref); ok {
		return t, nil
	}
	if _, err := strconv.Atoi(ref); err == nil {
		p.statuses(ctx)
		if t, ok := p.lookup(ref); ok {
			return t, nil
		}
		return Target{}, fmt.Errorf("no peer with id %s answers (peers: %s)", ref, p.names())
	}
	return Target{}, fmt.Errorf("no peer called %q (peers: %s)", ref, p.names())
}

// ID returns the id of the peer ref names (see Resolve).
func (p *Peers) ID(ctx context.Context, ref string) (int, error) {
	if id, err := strconv.Atoi(ref); err == nil {
		if id < 1 {
			return 0, fmt.Errorf("%d is not a peer id (ids start at 1)", id)
		}
		return id, nil
	}
	t, err := p.Resolve(ctx, ref)
	if err != nil {
		return 0, err
	}
	if t.ID == 0 {
		p.statuses(ctx)
		if t, _ = p.lookup(ref); t.ID == 0 {
			return 0, fmt.Errorf("peer %s does not answer, so its id is unknown (give -h HOSTSFILE)", ref)
		}
	}
	return t.ID, nil
}

func (p *Peers) leader(ctx context.Context) (Target, error) {
	st := p.statuses(ctx)
	best, bestView, found := "", uint64(0), false
	votes := map[int]int{}
	for name, h := range st {
		if h.State == "Leader" && (!found || h.View.ID > bestView || (h.View.ID == bestView && name < best)) {
			best, bestView, found = name, h.View.ID, true
		}
		if h.Leader > 0 {
			votes[h.Leader]++
		}
	}
	if best != "" {
		t, _ := p.lookup(best)
		return t, nil
	}
	id, n := 0, 0
	for l, c := range votes {
		if c > n || (c == n && l < id) {
			id, n = l, c
		}
	}
	if id > 0 {
		if t, ok := p.lookup(strconv.Itoa(id)); ok {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("no peer knows a leader (%d of %d answered)", len(st), len(p.All()))
}

func (p *Peers) names() string {
	var n []string
	for _, t := range p.All() {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}
