package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"roster/peer/detector"
	"roster/peer/fsm"
)

// ForeignClusterError says a peer's data dir belongs to another cluster than
// the peers it finds: it must not take part with that data.
type ForeignClusterError struct {
	// DataDir is the peer's data dir, Local the cluster id kept in it.
	DataDir, Local string
	// Remote is the cluster id the other peers announce, Peers who do.
	Remote string
	Peers  []string
}

func (e *ForeignClusterError) Error() string {
	return fmt.Sprintf("data dir %s belongs to cluster %s, but the peers here are cluster %s (%s): move the data dir away (or delete it) and restart to join as a new member",
		e.DataDir, e.Local, e.Remote, strings.Join(e.Peers, ", "))
}

// readClusterID returns the cluster id kept in dir, "" when there is none
// (no data dir, a new one, or one made before cluster ids existed). A file
// that does not hold an id is a *StoreError.
func readClusterID(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(dir, clusterFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", &StoreError{Dir: dir, File: clusterFile, Err: err}
	}
	id := strings.TrimSpace(string(b))
	if !fsm.ValidClusterID(id) {
		return "", &StoreError{Dir: dir, File: clusterFile, Corrupt: true, Err: fmt.Errorf("%q is not a cluster id", abbreviate(string(b)))}
	}
	return id, nil
}

// writeClusterID keeps the cluster id in dir (write and rename, so a crash
// leaves the old file or the new one); without a data dir it does nothing.
func writeClusterID(dir, id string) error {
	if dir == "" {
		return nil
	}
	return writeFileAtomic(filepath.Join(dir, clusterFile), []byte(id+"\n"))
}

// writeFileAtomic writes a small file through a temporary one and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// abbreviate shortens what a file held for a log line.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// clusterView sorts the alive peers by the cluster id they announce.
type clusterView struct {
	// same are the peers that announce this peer's cluster id; foreign
	// maps the peers that announce another to that id, and joined says
	// which of those are in a view of theirs (Meta.Joined: their cluster
	// works).
	same    []int
	foreign map[int]string
	joined  map[int]bool
}

// sortByCluster compares the cluster ids alive peers announce with local
// ("" accepts every peer: a peer without data joins whatever cluster it finds).
func sortByCluster(self int, local string, members map[int]detector.Member) clusterView {
	cv := clusterView{foreign: map[int]string{}, joined: map[int]bool{}}
	for id, m := range members {
		switch {
		case id == self || m.Meta.Cluster == "" || local == "":
		case m.Meta.Cluster == local:
			cv.same = append(cv.same, id)
		default:
			cv.foreign[id] = m.Meta.Cluster
			cv.joined[id] = m.Meta.Joined
		}
	}
	return cv
}

// outsider reports whether this peer is the foreign one: none of the peers
// announces its cluster, and some that are members of a working cluster
// announce another. (A lone peer of another cluster that waits for its own
// peers does not make this one the outsider: whichever started first, the
// peers of a working cluster are the ones at home.) It returns the id most
// of those announce, and who.
func (cv clusterView) outsider() (remote string, peers []int, ok bool) {
	if len(cv.same) > 0 {
		return "", nil, false
	}
	count := map[string]int{}
	for id, c := range cv.foreign {
		if cv.joined[id] {
			count[c]++
		}
	}
	if len(count) == 0 {
		return "", nil, false
	}
	for c, n := range count {
		if remote == "" || n > count[remote] || (n == count[remote] && c < remote) {
			remote = c
		}
	}
	for id, c := range cv.foreign {
		if c == remote && cv.joined[id] {
			peers = append(peers, id)
		}
	}
	slices.Sort(peers)
	return remote, peers, true
}

// clusterGuard keeps peers of another cluster out: the reconcile loop sees
// only the alive peers that announce this peer's cluster (or none), and each
// refusal is logged at error level once. Safe for concurrent use.
type clusterGuard struct {
	n   *Node
	log hclog.Logger

	mu       sync.Mutex
	refused  map[int]string // peer -> the foreign id it was refused for
	outsider string         // the cluster this peer finds itself outside of, "" if none
}

// refuse returns the foreign peers among the alive ones, logging new ones.
func (g *clusterGuard) refuse(members map[int]detector.Member) clusterView {
	n := g.n
	local := n.fsm.Cluster()
	cv := sortByCluster(n.cfg.Self.ID, local, members)
	remote, peers, out := cv.outsider()
	g.mu.Lock()
	defer g.mu.Unlock()
	if out && g.outsider != remote {
		g.log.Error("this peer's data dir belongs to another cluster: refusing to take part",
			"data_dir", n.cfg.DataDir, "cluster", local, "their_cluster", remote, "peers", n.names(peers),
			"fix", "stop this peer, move its data dir away (or delete it) and restart it to join as a new member")
	}
	if out {
		g.outsider = remote
	} else {
		g.outsider = ""
	}
	for id, c := range cv.foreign {
		if g.refused[id] != c && !out {
			g.log.Error("refusing a peer of another cluster", "peer", n.name(id), "its_cluster", c, "cluster", local,
				"fix", "that peer's data dir belongs to another cluster: move it away and restart that peer")
		}
	}
	g.refused = cv.foreign
	return cv
}

// status returns why this peer is outside its cluster, "" when it is not.
func (g *clusterGuard) status() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.outsider == "" {
		return ""
	}
	return fmt.Sprintf("this peer's data dir belongs to cluster %s; the peers here are cluster %s", g.n.fsm.Cluster(), g.outsider)
}

// name returns the name of peer id.
func (n *Node) name(id int) string {
	if p, ok := n.dir.Peer(id); ok {
		return p.Name
	}
	return fmt.Sprint(id)
}

// names returns the names of peer ids.
func (n *Node) names(ids []int) []string {
	var out []string
	for _, id := range ids {
		if p, ok := n.dir.Peer(id); ok {
			out = append(out, p.Name)
		}
	}
	return out
}

// guardedMembers is the failure detector as the reconcile loop sees it:
// without the peers of another cluster.
type guardedMembers struct {
	*detector.Detector
	guard *clusterGuard
}

// Alive is detector.Alive without the refused peers, and without the
// registered peers (outside the hostsfile) whose Raft does not run under
// their id yet (they announce it: detector.Meta.ID).
func (m guardedMembers) Alive() map[int]string {
	alive := m.Detector.Alive()
	members := m.Detector.Members()
	cv := m.guard.refuse(members)
	for id := range cv.foreign {
		delete(alive, id)
	}
	for id, mem := range members {
		if _, listed := m.guard.n.cfg.Hosts.Peer(id); !listed && mem.Meta.ID != id {
			delete(alive, id)
		}
	}
	return alive
}

// clusterCheckEvery is how often every peer compares the cluster ids the
// alive peers announce with its own (the leader also does at every
// reconcile step, see guardedMembers): only the log and this peer's status
// wait for it.
const clusterCheckEvery = 5 * time.Second

// watchCluster logs peers of another cluster, and notices when this peer is
// the one outside, until ctx is done.
func (n *Node) watchCluster(ctx context.Context) {
	t := time.NewTicker(clusterCheckEvery)
	defer t.Stop()
	for {
		n.guard.refuse(n.det.Members())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkClusterAtStart joins the other peers and refuses to start when they
// announce another cluster than the one this data dir belongs to.
func (n *Node) checkClusterAtStart(local string) error {
	if local == "" {
		return nil
	}
	n.det.JoinNow()
	cv := sortByCluster(n.cfg.Self.ID, local, n.det.Members())
	if remote, peers, out := cv.outsider(); out {
		return &ForeignClusterError{DataDir: n.cfg.DataDir, Local: local, Remote: remote, Peers: n.names(peers)}
	}
	return nil
}

// clusterLearned keeps the cluster id the FSM learned (from the first view's
// entry or a snapshot) in the data dir and announces it. Called on Raft's
// FSM goroutine.
func (n *Node) clusterLearned(id string) {
	n.log.Info("cluster id", "cluster", id)
	if err := writeClusterID(n.cfg.DataDir, id); err != nil {
		n.faults.fail("writing the cluster id file", err)
	}
	n.goRun(func() { n.det.SetCluster(id) })
}
