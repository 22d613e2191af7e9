// Package node wires one roster peer together: failure detection
// (detector), the replicated view (fsm) through Raft with a raft-boltdb
// store, the leader's reconcile loop, the view log and the HTTP API.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"

	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/detector"
	"roster/peer/directory"
	"roster/peer/fsm"
	"roster/peer/groups/service"
	"roster/peer/identity"
	"roster/peer/metrics"
	"roster/peer/netguard"
	"roster/peer/raftpeer"
	"roster/peer/reconcile"
	"roster/peer/secure"
	"roster/peer/viewlog"
)

// Options are the seams a peer offers to what runs it (fault injection,
// scenarios, measurement); the zero value runs a plain peer. The functions
// are called from the peer's own goroutines and must not block.
type Options struct {
	// WrapTransport wraps memberlist's transport.
	WrapTransport func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
	// WrapStream wraps Raft's stream layer.
	WrapStream func(raft.StreamLayer) raft.StreamLayer
	// Handlers are mounted on the HTTP API (pattern -> handler).
	Handlers map[string]http.Handler
	// Hooks act around the leader's view commits.
	Hooks reconcile.Hooks
	// OnPeerAddr, if set, is called with each address failure detection
	// sees a peer at.
	OnPeerAddr func(id int, ip net.IP)
	// Intercept, if set, is called from Raft's FSM goroutine with each view
	// this peer installs and the view before it, before anything is printed;
	// when it returns true the view is neither printed nor made current (the
	// caller is about to crash the peer). It must not call Crash or Close
	// itself (they wait for that goroutine): it may start a goroutine that does.
	Intercept func(prev, next fsm.View) bool
	// OnInstall, if set, is called with each view this peer prints, from
	// Raft's FSM goroutine, right after the line is written.
	OnInstall func(fsm.View)
	// Dial, if set, makes the client groups' connections: the owners'
	// checks of clients and the requests one peer forwards to another.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// PeerHeader is added to every request one peer forwards to another.
	PeerHeader http.Header
}

// Node is a running peer. Its methods are safe for concurrent use.
type Node struct {
	cfg     config.Config
	log     hclog.Logger
	fsm     *fsm.FSM
	printer *printer
	det     *detector.Detector
	raft    *raft.Raft
	trans   *raftpeer.Transport
	stores  stores
	faults  *diskFaults   // storage operations failing now (for /ready)
	guard   *clusterGuard // peers of another cluster, refused
	api     *api.Server
	metrics *metrics.Peer
	groups  *service.Service
	life    uint64 // this process's life number (fsm.NewLife)
	dir     *directory.Directory
	founder bool     // this peer, without a hostsfile, founds the cluster (join.go)
	downs   chan int // peers failure detection confirmed down, for watchHeartbeats
	leaders chan int // the leader this peer follows, for holdTethers (tether.go)

	resolver *identity.Resolver
	netLog   *netguard.RateLog // bad input from the network, at a bounded rate
	// netRaftLog bounds the rate of Raft's network layer's own complaints.
	netRaftLog *netguard.RateLog
	keyring    *secure.Keyring // nil when the cluster has no key
	tls        *secure.TLS     // nil without a key or TLS files
	stream     *stream

	onPeerAddr func(id int, ip net.IP)
	addrs      peerAddrs // where each peer was last seen

	cancel   context.CancelFunc
	stopLoop context.CancelFunc // stops the reconcile loop alone (a leave)
	loopDone chan struct{}      // closed when the reconcile loop has ended
	wg       sync.WaitGroup
	once     sync.Once
	stopping atomic.Bool // stop has begun: diagnostics below error are dropped
}

// Start is StartContext without a context: a peer outside the hostsfile
// waits for its id as long as it takes.
func Start(cfg config.Config, opts Options) (*Node, error) {
	return StartContext(context.Background(), cfg, opts)
}

// StartContext starts a peer: it binds its ports, joins the others, and (peer 1
// with no state and no cluster around, or the founder of a cluster without
// a hostsfile: see Config.BootstrapExpect) bootstraps the cluster. A peer
// outside the hostsfile first waits for its id from the cluster's registry
// (see join.go) until ctx is done. The returned
// error says which part failed, e.g. a port in use; it is a *StoreError
// when the data dir cannot be used (damaged, or held by another process),
// and a *ForeignClusterError when the data dir belongs to another cluster
// than the peers it finds.
func StartContext(startCtx context.Context, cfg config.Config, opts Options) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, onPeerAddr: opts.OnPeerAddr, downs: make(chan int, 8), leaders: make(chan int, 1)}
	logger := newLogger(cfg, &n.stopping)
	n.log, n.metrics = logger, newMetrics(logger)
	started := false
	defer func() {
		if !started {
			n.stop(0)
		}
	}()
	var err error

	n.dir = directory.New(cfg.Hosts)
	n.resolver = identity.New(cfg.Hosts, nil)
	n.netLog = netguard.NewRateLog(logger.Named("net"))
	n.netRaftLog = netguard.NewRateLog(logger.Named("raft-net"))
	if err := n.setupSecurity(); err != nil {
		return nil, err
	}
	n.faults = newDiskFaults(logger.Named("storage"), cfg.DataDir)
	n.guard = &clusterGuard{n: n, log: logger.Named("cluster")}
	cluster, err := readClusterID(cfg.DataDir)
	if err != nil {
		return nil, err
	}

	if cfg.Self.ID != 0 {
		// A hostsfile peer's data dir must not hold another id.
		if kept, err := readPeerID(cfg.DataDir, cfg.Name); err != nil || (kept != 0 && kept != cfg.Self.ID) {
			if err == nil {
				err = fmt.Errorf("data dir %s holds peer id %d, but %s is on line %d of hostsfile %s: give this peer its own data dir", cfg.DataDir, kept, cfg.Name, cfg.Self.ID, cfg.Hosts.Path)
			}
			return nil, err
		}
	}
	vl := viewlog.New(cfg.ViewLog, cfg.Self.ID)
	n.life = fsm.NewLife()
	n.printer = newPrinter(cfg.Self.ID, n.life, vl, func() { n.det.SetJoined() })
	n.printer.onPrint = opts.OnInstall
	n.printer.intercept = opts.Intercept
	n.fsm = fsm.New(func(v fsm.View, restored bool) {
		n.printer.installed(v, restored)
		n.metrics.ViewInstalled(v.ID, v.Members)
	})
	n.fsm.ExpectCluster(cluster, n.clusterLearned)
	n.fsm.OnNames(n.namesLearned)
	if n.metrics != nil {
		n.fsm.Groups().SetObserver(n.metrics)
	}
	// The data dir first: a damaged one stops the peer before it joins.
	if n.stores, err = openStores(cfg.DataDir, n); err != nil {
		return nil, err
	}

	// Raft's port is bound first: the leader may dial it as soon as the
	// join below reaches it. Its advertised address is known once
	// memberlist has picked it, before Raft's transport asks for it.
	if n.stream, err = listenStream(streamConfig{
		Bind: net.JoinHostPort(bindHost(cfg.Bind), strconv.Itoa(cfg.RaftPort)),
		Self: string(reconcile.ServerID(cfg.Self.ID)),
		TLS:  n.tls, Resolver: n.resolver, AddrCheck: cfg.CheckAddrs(), Log: n.netLog,
		OnCut: n.tetherCut,
	}); err != nil {
		return nil, fmt.Errorf("raft port: %w", unwrapNet(err))
	}
	if n.keyring != nil {
		n.keyring.Watch(n.stream.KeysChanged)
	}
	if n.det, err = detector.Start(detector.Config{
		Self: cfg.Self, Hosts: cfg.Hosts, Dir: n.dir, Open: len(cfg.Join) > 0, Join: cfg.Join,
		BindAddr: cfg.Bind, AdvertiseAddr: n.advertiseAddr(), Port: cfg.GossipPort,
		Meta:          detector.Meta{RaftPort: cfg.RaftPort, APIPort: cfg.APIPort, Life: n.life, Cluster: cluster, ID: cfg.Self.ID},
		WrapTransport: opts.WrapTransport,
		OnDown:        n.peerDown,
		OnAddr:        n.learnAddr,
		Logger:        logger,
		Metrics:       n.metrics,
		Keyring:       n.memberlistKeyring(),
		Resolver:      n.resolver,
		AddrCheck:     cfg.CheckAddrs(),
		Log:           n.netLog,
		InView:        n.fsm.Member,
	}); err != nil {
		return nil, err
	}
	n.stream.SetAdvertise(&net.TCPAddr{IP: n.det.LocalAddr(), Port: cfg.RaftPort})
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	if cfg.Self.ID == 0 {
		// Outside the hostsfile: join by --join, and wait for an id.
		n.goRun(func() { n.det.Run(ctx, time.Second) })
		waitCtx, stopWait := context.WithCancel(startCtx)
		go func() {
			select {
			case <-ctx.Done():
			case <-waitCtx.Done():
			}
			stopWait()
		}()
		id, err := n.awaitID(waitCtx)
		stopWait()
		if err != nil {
			return nil, err
		}
		cfg.Self.ID = id
		n.cfg.Self = cfg.Self
		n.det.SetSelf(id)
		n.stream.SetSelf(string(reconcile.ServerID(id)))
		n.printer.setSelf(id, viewlog.New(cfg.ViewLog, id))
	}
	if err = n.checkClusterAtStart(cluster); err != nil {
		return nil, err
	}

	// Join now, while Raft's store opens: a joiner's time to its first view
	// starts here.
	n.printer.message(viewlog.Joining, true)
	if n.dir.Listed(cfg.Name) {
		n.goRun(func() { n.det.Run(ctx, time.Second) })
	}

	if err = n.startRaft(opts); err != nil {
		return nil, err
	}
	if !n.dir.Listed(cfg.Name) {
		n.det.SetID(cfg.Self.ID) // the leader may add this peer now
		n.goRun(func() { n.pushIDUntilAdded(ctx, cfg.Self.ID) })
	}
	if cfg.APIPort != 0 {
		var apiTLS *tls.Config
		if n.tls != nil && !n.tls.Derived() {
			apiTLS = n.tls.API()
		}
		lim := api.Limits{TLS: apiTLS, Log: n.netLog, Token: cfg.APIToken, TokenReads: cfg.APITokenReads}
		if n.api, err = api.Listen(net.JoinHostPort(bindHost(cfg.Bind), strconv.Itoa(cfg.APIPort)), n, lim); err != nil {
			return nil, fmt.Errorf("api port: %w", unwrapNet(err))
		}
		n.api.Handle("GET /v1/metrics", n.metrics.Handler())
		for p, h := range opts.Handlers {
			n.api.Handle(p, h)
		}
	}
	n.startGroups(opts)

	if err = n.bootstrap(); err != nil {
		return nil, err
	}
	loop := &reconcile.Loop{
		Raft: n.raft, Self: cfg.Self.ID, View: n.fsm.View, Members: guardedMembers{n.det, n.guard},
		MaxVoters: cfg.MaxVoters(), Logger: logger.Named("reconcile"), Hooks: opts.Hooks,
		Metrics: n.metrics, Lives: n.det.Lives, Left: n.det.Left, Gone: n.det.Gone, Cluster: n.fsm.Cluster,
		Guests: n.unregistered, NextID: n.nextID,
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	n.stopLoop, n.loopDone = stopLoop, make(chan struct{})
	n.goRun(func() {
		defer close(n.loopDone)
		loop.Run(loopCtx)
	})
	n.goRun(func() { n.watchHeartbeats(ctx) })
	n.goRun(func() { n.holdTethers(ctx) })
	n.goRun(func() { n.watchCluster(ctx) })
	n.goRun(func() { n.watchAddress(ctx) })
	if cfg.DataDir != "" {
		n.goRun(func() { n.watchDisk(ctx) })
	}
	n.goRun(func() { n.groups.Run(ctx) })
	if n.api != nil {
		n.goRun(func() {
			if err := n.api.Serve(); err != nil {
				logger.Error("api stopped", "error", err)
			}
		})
	}
	if !cfg.Secured() {
		logger.Info("no cluster key: anyone who reaches this peer's ports can join the cluster and write views (see roster keygen, --encrypt)")
	}
	started = true
	return n, nil
}

// Logger returns the diagnostic logger a peer with cfg logs to (named after
// the peer, at cfg.LogLevel, to cfg.DiagLog, stamped if cfg.LogTime). Safe
// for concurrent use.
func Logger(cfg config.Config) hclog.Logger { return newLogger(cfg, nil) }

// newLogger is Logger; once stopping is set, it logs errors only: what the
// peer's parts say about their own shutdown (a Raft future failing, a
// connection closing) is noise after "crashing" or "leaving".
func newLogger(cfg config.Config, stopping *atomic.Bool) hclog.Logger {
	if cfg.LogLevel == "off" {
		return hclog.NewNullLogger()
	}
	opts := &hclog.LoggerOptions{
		Name:        cfg.Name,
		Level:       hclog.LevelFromString(cfg.LogLevel),
		Output:      cfg.DiagLog,
		DisableTime: !cfg.LogTime,
	}
	if stopping != nil {
		opts.Exclude = func(level hclog.Level, _ string, _ ...any) bool {
			return level < hclog.Error && stopping.Load()
		}
	}
	return hclog.New(opts)
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

func bindHost(bind string) string {
	if bind == "" {
		return "0.0.0.0"
	}
	return bind
}

// unwrapNet keeps the useful tail of a net.OpError ("address already in use").
func unwrapNet(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("%s: %w", op.Addr, op.Err)
	}
	return err
}

func (n *Node) startRaft(opts Options) error {
	cfg := n.cfg
	st := n.stores
	var stream raft.StreamLayer = n.stream
	if opts.WrapStream != nil {
		stream = opts.WrapStream(stream)
	}
	n.trans = &raftpeer.Transport{
		NetworkTransport: raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: stream, MaxPool: 3, Timeout: 2 * time.Second, Logger: quietLogger{n.log.Named("raft-net"), n.netRaftLog},
		}),
		Where: n.raftAddr,
	}
	rc := raftConfig(cfg.Self.ID, quietLogger{Logger: n.log.Named("raft")})
	compactSooner(rc)
	if tuneRaft != nil {
		tuneRaft(rc)
	}
	// Raft reads its whole state here; the store was checked, but a
	// snapshot may still be damaged, or disagree with the cluster id.
	var r *raft.Raft
	if err := guard(cfg.DataDir, func() (err error) {
		r, err = raft.NewRaft(rc, n.fsm, st.logs, st.stable, st.snaps, n.trans)
		return err
	}); err != nil {
		if cfg.DataDir == "" {
			return fmt.Errorf("start raft: %w", err)
		}
		return storeError(cfg.DataDir, err)
	}
	n.raft = r
	if st.watched != nil {
		st.watched.running.Store(true)
	}
	return nil
}

// tuneRaft, if set (by tests), changes each new peer's Raft configuration.
var tuneRaft func(*raft.Config)

// raftConfig returns Raft's timings. They are long: an idle cluster's cost
// is mostly heartbeats, and crashes are found by other means (election.go),
// which also start elections without waiting for these timeouts.
func raftConfig(self int, logger hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = reconcile.ServerID(self)
	// A heartbeat to each follower every 0.5-1 s (HeartbeatTimeout/10 to
	// /5); Raft's own election (with pre-vote) only when nothing else
	// called one, or when there is no leader to find down (a leader that
	// stepped down, a cluster restarted whole): 5-10 s after the last
	// heartbeat. At 2 s an idle leader of 25 cost 4.4 % of a core, at 5 s
	// 2.6 % (roster lab bench --idle-sizes 25).
	rc.HeartbeatTimeout = 5 * time.Second
	rc.ElectionTimeout = 5 * time.Second
	// The leader steps down when a quorum has not answered for this long:
	// two and a half of the longest heartbeat periods, so that a leader on
	// a loaded machine does not step down for a late heartbeat.
	rc.LeaderLeaseTimeout = 2500 * time.Millisecond
	// Followers learn that an entry committed on the next AppendEntries
	// that is not a heartbeat; with no new entry, Raft sends one to every
	// follower each CommitTimeout (to 2x). The reconcile loop and the
	// groups' batcher (groups/service/nudge.go) append a Barrier after a
	// commit, which carries the commit at once, so this only bounds
	// retries after a failed send and how late a follower learns of a
	// commit nobody nudged (a new leader's first Barrier). A short one (it
	// was 10 ms, then 100 ms) kept an idle leader busy.
	rc.CommitTimeout = 5 * time.Second
	// Raft reports some timings twice, under a per-peer name and with a
	// peer label; the labelled ones are enough (each report costs a
	// summary update on every heartbeat, and memory per peer).
	rc.NoLegacyTelemetry = true
	// A wrongly removed peer must be able to come back.
	rc.ShutdownOnRemove = false
	rc.Logger = logger
	return rc
}

// bootstrap makes peer 1 start a one-voter cluster, unless it has state
// already or another peer says a cluster exists (peer 1 restarted without
// its data must not start a second cluster).
func (n *Node) bootstrap() error {
	if n.cfg.Self.ID != 1 || !(n.dir.Listed(n.cfg.Name) || n.founder) {
		return nil
	}
	has, err := raft.HasExistingState(n.stores.logs, n.stores.stable, nopSnapshots{})
	if err != nil {
		return fmt.Errorf("read raft state: %w", err)
	}
	if has {
		return nil
	}
	if n.clusterAround() {
		n.log.Info("a cluster exists already: waiting to be added")
		return nil
	}
	// A new cluster gets a new id, kept before anything else: the first
	// view's entry carries it. A data dir that has one and no Raft state
	// (a crash between the two) keeps it.
	id := n.fsm.Cluster()
	if id == "" {
		id = fsm.NewClusterID()
		if err := writeClusterID(n.cfg.DataDir, id); err != nil {
			return &StoreError{Dir: n.cfg.DataDir, File: clusterFile, Err: err}
		}
		n.fsm.ExpectCluster(id, n.clusterLearned)
		n.det.SetCluster(id)
	}
	n.log.Info("bootstrapping a new cluster", "cluster", id)
	if err := n.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
		ID: reconcile.ServerID(n.cfg.Self.ID), Address: n.trans.LocalAddr(), Suffrage: raft.Voter,
	}}}).Error(); err != nil {
		return err
	}
	n.standNow()
	return nil
}

// foundRetries bounds how many more times peer 1 tries to join the others
// before it founds a cluster while some of them take connections but answer
// too slowly to tell whether they belong to one (each try waits at most
// memberlist's TCP timeout, 2 s).
const foundRetries = 10

// clusterAround joins the other peers and reports whether one says that a
// cluster exists. A peer that took the connection but did not answer in time
// may be a member of a cluster on a starved machine: peer 1, restarted
// without its data, would found a second cluster beside it. So while some
// peer answers that slowly, peer 1 tries again (up to foundRetries times)
// instead of concluding that nobody is there; peers that are not running
// refuse the connection or do not resolve, and cost no wait.
func (n *Node) clusterAround() bool {
	for try := 0; ; try++ {
		slow := n.det.JoinNow()
		if n.det.ClusterExists() {
			return true
		}
		if !slow || try == foundRetries || n.stopping.Load() {
			return false
		}
		n.log.Info("a peer answers too slowly to tell whether a cluster exists: asking again before founding one", "try", try+1)
	}
}

// learnAddr notes a peer's address (dropping the Raft connections to its
// old one if it moved) and passes it to Options.OnPeerAddr.
func (n *Node) learnAddr(id int, ip net.IP) {
	if n.addrs.moved(id, ip) {
		n.peerMoved(id, ip)
	}
	if n.onPeerAddr != nil {
		n.onPeerAddr(id, ip)
	}
}

// peerDown prints the unreachable line for a peer failure detection found
// dead, and tells watchHeartbeats (which may make this follower stand for
// election). Called on the detector's goroutines, also before Raft starts.
func (n *Node) peerDown(id int) {
	n.printer.unreachable(id)
	select {
	case n.downs <- id:
	default: // watchHeartbeats is behind: Raft's own heartbeat timeout calls the election
	}
}

// Status returns the peer's state for the API.
func (n *Node) Status() api.Status {
	st := api.Status{Name: n.cfg.Name, ID: n.cfg.Self.ID, View: n.fsm.View(), State: n.raft.State().String()}
	if _, lid := n.raft.LeaderWithID(); lid != "" {
		st.Leader, _ = strconv.Atoi(string(lid))
	}
	return st
}

// Life returns this process's life number: the views of its current life
// hold it with this number (see fsm/life.go).
func (n *Node) Life() uint64 { return n.life }

// View returns the committed view this peer holds.
func (n *Node) View() fsm.View { return n.fsm.View() }

// Voters returns the ids of the voters in the Raft configuration this peer
// holds (its latest, committed or not), ascending; nil when it cannot tell.
func (n *Node) Voters() []int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	var out []int
	for _, s := range f.Configuration().Servers {
		if id, err := strconv.Atoi(string(s.ID)); err == nil && s.Suffrage == raft.Voter {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Logger returns the peer's diagnostic logger.
func (n *Node) Logger() hclog.Logger { return n.log }

// IsLeader reports whether this peer is the Raft leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// APIAddr returns the address of the HTTP API, or nil when it is off.
func (n *Node) APIAddr() net.Addr {
	if n.api == nil {
		return nil
	}
	return n.api.Addr()
}

// Crash prints "crashing" and stops the peer at once, without telling
// anyone: the others must detect the failure.
func (n *Node) Crash() {
	n.printer.message(viewlog.Crashing, true)
	n.stop(0)
}

// Close stops the peer without a graceful leave (as Crash, without the line).
func (n *Node) Close() { n.stop(0) }

// stop stops the peer; with a positive leave timeout it first leaves the
// group gracefully, waiting at most that long for memberlist to announce it.
func (n *Node) stop(leave time.Duration) {
	n.once.Do(func() {
		n.stopping.Store(true)
		if n.cancel != nil {
			n.cancel()
		}
		if n.det != nil {
			if leave > 0 {
				if err := n.det.Leave(leave); err != nil {
					n.log.Warn("leave", "error", err)
				}
			}
			n.det.Shutdown()
		}
		if n.api != nil {
			n.api.Close()
		}
		if n.stores.watched != nil {
			close(n.stores.watched.stop) // a term write stalled on a failing disk gives up
		}
		if n.raft != nil {
			n.raft.Shutdown().Error()
		}
		if n.trans != nil {
			n.trans.Close() // closes the stream too
		} else if n.stream != nil {
			n.stream.Close()
		}
		n.wg.Wait()
		if n.stores.closer != nil {
			n.stores.closer.Close()
		}
		n.netLog.Close()
		n.netRaftLog.Close()
	})
}

// nopSnapshots stands in for the snapshot store in HasExistingState: a
// snapshot without a log or stable state cannot exist here.
type nopSnapshots struct{}

func (nopSnapshots) Create(raft.SnapshotVersion, uint64, uint64, raft.Configuration, uint64, raft.Transport) (raft.SnapshotSink, error) {
	return nil, errors.New("not supported")
}
func (nopSnapshots) List() ([]*raft.SnapshotMeta, error) { return nil, nil }
func (nopSnapshots) Open(string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	return nil, nil, errors.New("not supported")
}
