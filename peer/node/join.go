package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/fsm"
	"roster/peer/hostsfile"
)

// idFile keeps, in the data dir of a peer outside the hostsfile, the id the
// cluster's registry gave it ("NAME ID"): its Raft state is kept under that
// id, so a restart must come back under it before it hears from anyone.
const idFile = "peer-id"

// Timings of a peer waiting for its id.
const (
	// exchangeEvery is how often a peer without an id asks the peers it
	// sees for the registry (a memberlist state exchange).
	exchangeEvery = 500 * time.Millisecond
	// bootstrapSettle is how long the peers a founder sees (see
	// Config.BootstrapExpect) must stay the same before it bootstraps: four
	// state exchanges (exchangeEvery) of every waiting peer, for every peer
	// to have heard of every other.
	bootstrapSettle = 2 * time.Second
)

// readPeerID returns the id kept in dir for name (0 when none is kept). A
// file that does not hold "NAME ID", or holds another name, is an error.
func readPeerID(dir, name string) (int, error) {
	if dir == "" {
		return 0, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, idFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, &StoreError{Dir: dir, File: idFile, Err: err}
	}
	f := strings.Fields(string(b))
	var id int
	if len(f) == 2 {
		id, err = strconv.Atoi(f[1])
	}
	if len(f) != 2 || err != nil || id < 1 || hostsfile.CheckName(f[0]) != nil {
		return 0, &StoreError{Dir: dir, File: idFile, Corrupt: true, Err: fmt.Errorf("%q is not \"NAME ID\"", abbreviate(string(b)))}
	}
	if f[0] != name {
		return 0, fmt.Errorf("data dir %s belongs to peer %s (id %d), not %s: give this peer its own data dir", dir, f[0], id, name)
	}
	return id, nil
}

// writePeerID keeps the id of this peer in its data dir (nothing without one).
func writePeerID(dir, name string, id int) error {
	if dir == "" {
		return nil
	}
	return writeFileAtomic(filepath.Join(dir, idFile), []byte(fmt.Sprintf("%s %d\n", name, id)))
}

// awaitID gives a peer outside the hostsfile its id: the one its data dir
// keeps, else the one the cluster's registry gave its name (learned from
// the peers it gossips with), else, as the founder of a new cluster (see founder), id 1. It
// waits until one of these holds or ctx is done.
func (n *Node) awaitID(ctx context.Context) (int, error) {
	name, dir := n.cfg.Name, n.cfg.DataDir
	id, err := readPeerID(dir, name)
	if err != nil {
		return 0, err
	}
	if id > 0 {
		n.dir.Learn(map[string]int{name: id})
		return id, nil
	}
	has, err := raft.HasExistingState(n.stores.logs, n.stores.stable, nopSnapshots{})
	if err != nil {
		return 0, fmt.Errorf("read raft state: %w", err)
	}
	if has {
		return 0, fmt.Errorf("data dir %s holds Raft state but no %s file: it was made by a hostsfile peer; give %s its hostsfile line back, or move the data dir away to join as a new peer", dir, idFile, name)
	}
	n.log.Info("waiting for an id from the cluster's registry", "join", n.cfg.Join, "bootstrap_expect", n.cfg.BootstrapExpect)
	t := time.NewTicker(exchangeEvery / 5)
	defer t.Stop()
	var f founder
	lastExchange := time.Time{}
	for {
		if id, ok := n.dir.ID(name); ok {
			n.log.Info("the registry gave this peer its id", "id", id)
			return id, n.keepPeerID(id)
		}
		if f.ready(n, time.Now()) {
			n.founder = true
			n.dir.Learn(map[string]int{name: 1})
			n.log.Info("founding a new cluster as peer 1", "peers", f.names)
			return 1, n.keepPeerID(1)
		}
		if time.Since(lastExchange) >= exchangeEvery {
			n.det.Exchange()
			lastExchange = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no id from the cluster's registry yet (--join %s): %w", strings.Join(n.cfg.Join, ","), ctx.Err())
		case <-t.C:
		}
	}
}

// keepPeerID writes the id to the data dir.
func (n *Node) keepPeerID(id int) error {
	if err := writePeerID(n.cfg.DataDir, n.cfg.Name, id); err != nil {
		return &StoreError{Dir: n.cfg.DataDir, File: idFile, Err: err}
	}
	return nil
}

// founder decides whether a peer without a hostsfile founds the cluster.
// The rule: with --bootstrap-expect N, a peer founds the cluster when it
// sees at least N peers (itself included), none of which belongs to a
// cluster, its name is the lowest of them, and that set of peers has stayed
// the same for bootstrapSettle. Two peers that see sets of N or more that
// overlap gossip each other's names within a few rounds, and only the
// lowest name of their union founds; so with N more than half the peers
// started together, one cluster forms. A peer partitioned away at start
// with fewer than N peers waits.
type founder struct {
	names []string
	since time.Time
}

// ready reports whether this peer founds the cluster now. A peer that has
// been in a view, or whose data dir holds a cluster id, is in a cluster.
func (f *founder) ready(n *Node, now time.Time) bool {
	if n.cfg.BootstrapExpect == 0 || len(n.cfg.Hosts.Peers) > 0 {
		return false
	}
	everyone := n.det.Everyone()
	names := slices.Sorted(maps.Keys(everyone))
	inCluster := false
	for name, m := range everyone {
		inCluster = inCluster || (name != n.cfg.Name && (m.Meta.Joined || m.Meta.Cluster != ""))
	}
	if inCluster || len(names) < n.cfg.BootstrapExpect || names[0] != n.cfg.Name {
		f.names = nil
		return false
	}
	if !slices.Equal(names, f.names) {
		f.names, f.since = names, now
		return false
	}
	return now.Sub(f.since) >= bootstrapSettle
}

// unregistered returns the alive peers the leader must register: neither
// in the hostsfile nor in the registry, nor announcing another cluster's
// id, this peer's own name first.
func (n *Node) unregistered() []string {
	if len(n.cfg.Join) == 0 {
		return nil
	}
	reg := n.fsm.Names()
	cluster := n.fsm.Cluster()
	var out []string
	for name, m := range n.det.Everyone() {
		if m.Meta.Cluster != "" && cluster != "" && m.Meta.Cluster != cluster {
			continue // the cluster guard refuses it (cluster.go)
		}
		if _, ok := reg[name]; !ok && !n.dir.Listed(name) && name != n.cfg.Name {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	if _, ok := reg[n.cfg.Name]; !ok && !n.dir.Listed(n.cfg.Name) {
		out = append([]string{n.cfg.Name}, out...)
	}
	return out
}

// nextID is the id the leader's next registration starts at.
func (n *Node) nextID() int { return n.dir.NextID(n.fsm.NextID()) }

// namesLearned is the FSM's registry observer: the directory learns the
// names, and failure detection gives guests their ids. Called on Raft's FSM
// goroutine.
func (n *Node) namesLearned(names map[string]int) {
	if n.dir.Learn(names) && n.det != nil {
		n.det.Remap()
	}
}

// Registry returns the ids the cluster's registry gave to peers outside the
// hostsfile, as this peer's committed state holds them. Safe for concurrent use.
func (n *Node) Registry() map[string]int { return n.fsm.Names() }

// Snapshot makes Raft compact its log into a snapshot of the state now
// (the view, the registry and the client groups), and waits for it. Raft
// refuses while the log ends with a configuration change the state machine
// has not passed (the reconcile loop's last steps usually are): on the
// leader, an entry that changes nothing is committed first, and a follower
// may take one once it has applied that entry.
func (n *Node) Snapshot() error {
	if n.raft.State() == raft.Leader {
		v := n.fsm.View()
		noop := fsm.Change{Base: v.ID, Leader: n.cfg.Self.ID}
		if err := n.raft.Apply(noop.Encode(), 2*time.Second).Error(); err != nil {
			return err
		}
	}
	return n.raft.Snapshot().Error()
}

// idPushEvery is how often a peer that got its id from the registry hands
// its state to other peers until a view holds it.
const idPushEvery = 2 * time.Second

// pushIDUntilAdded makes sure the leader learns this peer's id. The gossip
// of the new metadata is best effort (it may go to a peer that has just
// died, and the leader then hears of it only at the next full state
// exchange, up to 15 s on), so until a view holds id this peer exchanges state
// with two alive peers every idPushEvery: memberlist's push/pull carries
// its metadata, and the receiver gossips it on. It ends with ctx or once a
// view holds id.
func (n *Node) pushIDUntilAdded(ctx context.Context, id int) {
	t := time.NewTicker(idPushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if slices.Contains(n.fsm.View().Members, id) {
			return
		}
		n.det.Exchange()
	}
}
